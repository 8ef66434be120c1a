import { join } from 'node:path';
import { expect, test, type Browser } from '@playwright/test';
import { launchThroughProxy } from './support/chromium.js';
import { REPO_ROOT, startGatewayProcess, type GatewayChild } from './support/gateway-process.js';
import { goto } from './support/navigate.js';
import { respond, startTestSite, type TestSite } from './support/test-site.js';

/**
 * Pages that reach a tab by another way than a plain navigation, and must get their plugins all
 * the same:
 * - fetched before they are visited (`<link rel=prefetch>` as instant.page and quicklink do, or a
 *   script's fetch): such fetches pass the proxy uninjected, and Chromium served the later
 *   navigation from that copy, past the proxy (a prefetched copy is reused for five minutes,
 *   whatever its freshness);
 * - fetched by the site's service worker (`fetch(event.request)`, Workbox's NetworkFirst), which
 *   sends `Sec-Fetch-Dest: empty` in navigate mode: the proxy took it for a script's fetch. With
 *   navigation preload the browser sends the navigation as such.
 */

const FIXTURE_PLUGINS = join(REPO_ROOT, 'e2e/fixtures/plugins');

let gateway: GatewayChild;
let browser: Browser;
let site: TestSite;

/** Cacheable for ten minutes, as many sites' pages are. */
const page = (body: string) => respond(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'max-age=600' }, `<!doctype html><html><head><title>t</title></head><body>${body}</body></html>`);
const worker = (code: string) => respond(200, { 'content-type': 'text/javascript' }, code);
const register = (path: string) => `<script>navigator.serviceWorker.register('${path}').then(() => navigator.serviceWorker.ready).then(() => (document.body.dataset.sw = 'ready'))</script>`;
const CLAIM = "self.addEventListener('install', () => self.skipWaiting()); self.addEventListener('activate', (e) => e.waitUntil(Promise.all([self.clients.claim(), PRELOAD])));";

test.beforeAll(async () => {
  site = await startTestSite({
    '/prefetching': page('<link rel="prefetch" href="/prefetched" onload="document.body.dataset.fetched = \'yes\'"><a id="go" href="/prefetched">next</a>'),
    '/prefetched': page('<p>next</p>'),
    '/fetching': page('<a id="go" href="/fetched">next</a><script>fetch("/fetched").then((r) => r.text()).then(() => (document.body.dataset.fetched = "yes"))</script>'),
    '/fetched': page('<p>next</p>'),
    '/network-first/': page(register('/network-first/sw.js')),
    '/network-first/sw.js': worker(`${CLAIM.replace('PRELOAD', 'null')} self.addEventListener('fetch', (e) => { if (e.request.mode === 'navigate') e.respondWith(fetch(e.request)); });`),
    // A page the worker controls fetches another; the worker then fetches the navigation to it on.
    '/network-first/fetching': page('<a id="go" href="/network-first/fetched">next</a><script>fetch("/network-first/fetched").then((r) => r.text()).then(() => (document.body.dataset.fetched = "yes"))</script>'),
    '/network-first/fetched': page('<p>next</p>'),
    '/preload/': page(register('/preload/sw.js')),
    '/preload/sw.js': worker(`${CLAIM.replace('PRELOAD', 'self.registration.navigationPreload.enable()')} self.addEventListener('fetch', (e) => { if (e.request.mode === 'navigate') e.respondWith(e.preloadResponse.then((r) => r || fetch(e.request))); });`),
  });
  gateway = await startGatewayProcess({ args: ['--plugins-dir', FIXTURE_PLUGINS] });
  browser = await launchThroughProxy(gateway.ready.proxyUrl, gateway.ready.caSpki);
});
test.afterAll(async () => {
  await browser?.close();
  expect(await gateway?.stop()).toBe(0);
  await site?.close();
});

const seenAt = (path: string) => site.requests.filter((request) => request.path === path).map((request) => [request.headers['sec-fetch-dest'], request.headers['sec-fetch-mode']]);

for (const [from, to] of [['/prefetching', '/prefetched'], ['/fetching', '/fetched']] as const) {
  test(`a page ${to.slice(1)} before it was visited gets its plugins when visited`, async () => {
    const context = await browser.newContext();
    const tab = await context.newPage();
    await goto(tab, `${site.origin}${from}`);
    await expect(tab.locator('body')).toHaveAttribute('data-fetched', 'yes');
    await tab.click('#go');
    await tab.waitForURL(`**${to}`);
    await expect(tab.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
    // The fetch went to the site untouched, and the navigation went there again, through the proxy.
    expect(seenAt(to).map(([dest]) => dest)).toEqual(['empty', 'document']);
    await context.close();
  });
}

test("a page fetched under a service worker that fetches navigations on gets its plugins when visited (the worker's fetch has the script's destination)", async () => {
  const context = await browser.newContext();
  const tab = await context.newPage();
  await goto(tab, `${site.origin}/network-first/`);
  await expect(tab.locator('body')).toHaveAttribute('data-sw', 'ready');
  await goto(tab, `${site.origin}/network-first/fetching`);
  expect(await tab.evaluate(() => Boolean(navigator.serviceWorker.controller)), 'the worker controls the page').toBe(true);
  await expect(tab.locator('body')).toHaveAttribute('data-fetched', 'yes');
  await tab.click('#go');
  await tab.waitForURL('**/network-first/fetched');
  await expect(tab.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
  expect(seenAt('/network-first/fetched')).toEqual([
    ['empty', 'cors'],
    ['empty', 'navigate'],
  ]);
  await context.close();
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
    expect(seenAt(scope)).toEqual([
      ['document', 'navigate'],
      [dest, 'navigate'],
    ]);
    await expect(tab.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
    await context.close();
  });
}
