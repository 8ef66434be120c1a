import { respond, startTestSite, type Handler, type TestSite } from '../../support/test-site.js';

const html = (title: string, body: string, head = '') => `<!doctype html><html><head><title>${title}</title>${head}</head><body>${body}</body></html>`;
const HTML = { 'content-type': 'text/html; charset=utf-8' };
const JS = { 'content-type': 'text/javascript' };

/** A pushState router: links switch /spa/home, /spa/a and /spa/b without loading a document. */
const SPA_SCRIPT = `
window.__pageScriptRan = true;
window.__navs = [];
window.addEventListener('aiplugs:navigate', function (event) {
  window.__navs.push(new URL(event.detail.from).pathname + ' -> ' + new URL(event.detail.to).pathname);
});
function render() { var view = document.getElementById('view'); if (view) view.textContent = location.pathname; }
document.addEventListener('click', function (event) {
  var link = event.target.closest('a[data-link]');
  if (!link) return;
  event.preventDefault();
  history.pushState({}, '', link.getAttribute('href'));
  render();
});
window.addEventListener('popstate', render);
document.addEventListener('DOMContentLoaded', render);
`;

const SPA_PAGE = html('SPA', '<nav><a id="to-a" data-link href="/spa/a">A</a> <a id="to-b" data-link href="/spa/b">B</a> <a id="to-home" data-link href="/spa/home">Home</a></nav><main id="view"></main>', '<script src="/spa.js"></script>');

/** A service worker that answers /sw/page itself: that document never reaches the network. */
const SERVICE_WORKER = `
self.addEventListener('install', function () { self.skipWaiting(); });
self.addEventListener('activate', function (event) { event.waitUntil(self.clients.claim()); });
self.addEventListener('fetch', function (event) {
  if (new URL(event.request.url).pathname !== '/sw/page') return;
  event.respondWith(new Response(${JSON.stringify(html('From the service worker', '<h1 id="origin">served by the service worker</h1>', '<script src="/page.js"></script>'))}, { headers: { 'content-type': 'text/html; charset=utf-8' } }));
});
`;

const SW_INSTALL = html(
  'Install SW',
  '<h1>installing</h1>',
  `<script>navigator.serviceWorker.register('/sw/sw.js', { scope: '/sw/' }).then(function () { return navigator.serviceWorker.ready; }).then(function () { document.documentElement.setAttribute('data-sw-ready', '1'); }, function (error) { document.documentElement.setAttribute('data-sw-error', String(error)); });</script>`,
);

export const extensionSiteRoutes: Record<string, Handler> = {
  '/plain': respond(200, HTML, html('Plain page', '<h1>plain</h1>', '<script src="/page.js"></script>')),
  '/page.js': respond(200, JS, 'window.__pageScriptRan = true; window.__runsBeforePage = window.__e2e ? window.__e2e.runs.length : 0;'),
  '/csp': respond(200, { ...HTML, 'content-security-policy': "script-src 'self'" }, html('CSP page', '<h1>csp</h1>', '<script src="/page.js"></script>')),
  '/spa.js': respond(200, JS, SPA_SCRIPT),
  '/spa/home': respond(200, HTML, SPA_PAGE),
  '/spa/a': respond(200, HTML, SPA_PAGE),
  '/spa/b': respond(200, HTML, SPA_PAGE),
  '/sw/install': respond(200, HTML, SW_INSTALL),
  '/sw/sw.js': respond(200, { ...JS, 'service-worker-allowed': '/sw/' }, SERVICE_WORKER),
};

export function startExtensionSite(options: { https?: boolean } = {}): Promise<TestSite> {
  return startTestSite(extensionSiteRoutes, options);
}
