import { join } from 'node:path';
import { expect, test, type Browser } from '@playwright/test';
import { launchThroughProxy } from './support/chromium.js';
import { REPO_ROOT, startGatewayProcess, type GatewayChild } from './support/gateway-process.js';
import { goto } from './support/navigate.js';
import { respond, startTestSite, type TestSite } from './support/test-site.js';

/**
 * Pages whose service worker handles navigations. One that fetches them on itself
 * (`fetch(event.request)`, Workbox's NetworkFirst) sends `Sec-Fetch-Dest: empty` in navigate
 * mode, and the proxy took that for a script's fetch: the page came without plugins. With
 * navigation preload the browser sends the navigation as such.
 */

const FIXTURE_PLUGINS = join(REPO_ROOT, 'e2e/fixtures/plugins');

let gateway: GatewayChild;
let browser: Browser;
let site: TestSite;

const page = (body: string) => respond(200, { 'content-type': 'text/html; charset=utf-8' }, `<!doctype html><html><head><title>t</title></head><body>${body}</body></html>`);
const worker = (code: string) => respond(200, { 'content-type': 'text/javascript' }, code);
const register = (path: string) => `<script>navigator.serviceWorker.register('${path}').then(() => navigator.serviceWorker.ready).then(() => (document.body.dataset.sw = 'ready'))</script>`;

test.beforeAll(async () => {
  site = await startTestSite({
    '/network-first/': page(register('/network-first/sw.js')),
    '/network-first/sw.js': worker("self.addEventListener('install', () => self.skipWaiting()); self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim())); self.addEventListener('fetch', (e) => { if (e.request.mode === 'navigate') e.respondWith(fetch(e.request)); });"),
    '/preload/': page(register('/preload/sw.js')),
    '/preload/sw.js': worker("self.addEventListener('install', () => self.skipWaiting()); self.addEventListener('activate', (e) => e.waitUntil(Promise.all([self.clients.claim(), self.registration.navigationPreload.enable()]))); self.addEventListener('fetch', (e) => { if (e.request.mode === 'navigate') e.respondWith(e.preloadResponse.then((r) => r || fetch(e.request))); });"),
  });
  gateway = await startGatewayProcess({ args: ['--plugins-dir', FIXTURE_PLUGINS] });
  browser = await launchThroughProxy(gateway.ready.proxyUrl, gateway.ready.caSpki);
});
test.afterAll(async () => {
  await browser?.close();
  expect(await gateway?.stop()).toBe(0);
  await site?.close();
});

for (const [scope, dest] of [['/network-first/', 'empty'], ['/preload/', 'document']] as const) {
  test(`a page its service worker fetches (${scope}) gets its plugins`, async () => {
    const context = await browser.newContext();
    const tab = await context.newPage();
    await goto(tab, `${site.origin}${scope}`);
    await expect(tab.locator('body')).toHaveAttribute('data-sw', 'ready');
    await expect(tab.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
    await tab.reload();
    expect(await tab.evaluate(() => Boolean(navigator.serviceWorker.controller)), 'the worker handled the reload').toBe(true);
    expect(site.requests.filter((request) => request.path === scope).map((request) => [request.headers['sec-fetch-dest'], request.headers['sec-fetch-mode']])).toEqual([
      ['document', 'navigate'],
      [dest, 'navigate'],
    ]);
    await expect(tab.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
    await context.close();
  });
}
