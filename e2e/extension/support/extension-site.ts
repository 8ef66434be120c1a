import { respond, startTestSite, type Handler, type TestSite } from '../../support/test-site.js';
import { reactSsrRoutes } from '../../sites/react-ssr-page.js';

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

/**
 * A site with a strict policy of its own: scripts from itself only, never framed. Its first script
 * (allowed) records every CSP violation of the document, also those from before it ran; its
 * inline script is what the policy exists to block, so
 * `data-inline-ran` appears only on a page whose policy was taken away. `report-sample` makes each
 * violation name the blocked code, so a test can tell the site's blocked script from anything else.
 */
export const STRICT_POLICY = "script-src 'self' 'report-sample'; object-src 'none'; base-uri 'none'";
const STRICT_HEADERS = { ...HTML, 'content-security-policy': STRICT_POLICY, 'x-frame-options': 'DENY' };
// A buffered ReportingObserver, not a 'securitypolicyviolation' listener: the extension may try
// its inline runtime while the parser still waits for this very file, and an event fired before a
// listener exists is lost, where a report stays in the page's report buffer until observed.
const VIOLATION_RECORDER = `
window.__violations = [];
new ReportingObserver(function (reports) {
  reports.forEach(function (report) {
    var body = report.body;
    window.__violations.push({ directive: body.effectiveDirective, blocked: body.blockedURL, sample: body.sample, policy: body.originalPolicy });
  });
}, { types: ['csp-violation'], buffered: true }).observe();
`;
const STRICT_HEAD = '<script src="/violations.js"></script>';
/** The site's own inline script: what its policy exists to block. */
export const SITE_INLINE_CODE = 'document.documentElement.setAttribute("data-inline-ran", "1")';
const SITE_INLINE_SCRIPT = `<script>${SITE_INLINE_CODE}</script>`;
const STRICT_PAGE = html('Strict page', `<h1>strict</h1>${SITE_INLINE_SCRIPT}`, `${STRICT_HEAD}<script src="/page.js"></script>`);
/** The same policy in a `<meta>` tag, which no header rule can touch. */
const STRICT_META_PAGE = html('Strict meta page', `<h1>strict</h1>${SITE_INLINE_SCRIPT}`, `<meta http-equiv="Content-Security-Policy" content="${STRICT_POLICY}">${STRICT_HEAD}`);
const STRICT_SPA_PAGE = SPA_PAGE.replace('<head>', `<head>${STRICT_HEAD}`).replace('</body>', `${SITE_INLINE_SCRIPT}</body>`);

/** Another origin that frames `?src=`: X-Frame-Options: DENY must keep the frame empty. */
const framer: Handler = (request, response) => {
  const src = new URL(request.url ?? '/', 'http://x').searchParams.get('src') ?? '';
  response.writeHead(200, HTML).end(html('Framer', `<iframe id="framed" src="${src.replace(/[^\w:/.?=&-]/g, '')}"></iframe>`));
};

/** The SPA, served with the strict policy when asked (`?strict`): pushState keeps the policy. */
const spaPage: Handler = (request, response) => {
  const strict = new URL(request.url ?? '/', 'http://x').searchParams.has('strict');
  response.writeHead(200, strict ? STRICT_HEADERS : HTML).end(strict ? STRICT_SPA_PAGE : SPA_PAGE);
};

export const extensionSiteRoutes: Record<string, Handler> = {
  '/plain': respond(200, HTML, html('Plain page', '<h1>plain</h1>', '<script src="/page.js"></script>')),
  ...reactSsrRoutes(),
  '/page.js': respond(200, JS, 'window.__pageScriptRan = true; window.__runsBeforePage = window.__e2e ? window.__e2e.runs.length : 0;'),
  '/spa.js': respond(200, JS, SPA_SCRIPT),
  '/strict': respond(200, STRICT_HEADERS, STRICT_PAGE),
  '/strict-meta': respond(200, HTML, STRICT_META_PAGE),
  '/violations.js': respond(200, JS, VIOLATION_RECORDER),
  '/framer': framer,
  '/spa/home': spaPage,
  '/spa/a': respond(200, HTML, SPA_PAGE),
  '/spa/b': respond(200, HTML, SPA_PAGE),
  '/sw/install': respond(200, HTML, SW_INSTALL),
  '/sw/sw.js': respond(200, { ...JS, 'service-worker-allowed': '/sw/' }, SERVICE_WORKER),
};

export function startExtensionSite(options: { https?: boolean } = {}): Promise<TestSite> {
  return startTestSite(extensionSiteRoutes, options);
}
