import { join } from 'node:path';
import { expect, test, type Browser } from '@playwright/test';
import { launchThroughProxy } from './support/chromium.js';
import { REPO_ROOT, startGatewayProcess, type GatewayChild } from './support/gateway-process.js';
import { goto } from './support/navigate.js';
import { respond, startTestSite, type TestSite } from './support/test-site.js';

/**
 * A page the browser fetched before it is visited — `<link rel=prefetch>` (instant.page,
 * quicklink…) or a script's fetch — passes the proxy uninjected, as every fetch does. Chromium
 * then served the navigation to it from that copy, past the proxy, and the page had no plugins
 * (a prefetched copy is reused for five minutes whatever its freshness).
 */

const FIXTURE_PLUGINS = join(REPO_ROOT, 'e2e/fixtures/plugins');

let gateway: GatewayChild;
let browser: Browser;
let site: TestSite;

/** Cacheable for ten minutes, as many sites' pages are. */
const page = (body: string) => respond(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'max-age=600' }, `<!doctype html><html><head><title>t</title></head><body>${body}</body></html>`);

test.beforeAll(async () => {
  site = await startTestSite({
    '/prefetching': page('<link rel="prefetch" href="/prefetched" onload="document.body.dataset.fetched = \'yes\'"><a id="go" href="/prefetched">next</a>'),
    '/prefetched': page('<p>next</p>'),
    '/fetching': page('<a id="go" href="/fetched">next</a><script>fetch("/fetched").then((r) => r.text()).then(() => (document.body.dataset.fetched = "yes"))</script>'),
    '/fetched': page('<p>next</p>'),
  });
  gateway = await startGatewayProcess({ args: ['--plugins-dir', FIXTURE_PLUGINS] });
  browser = await launchThroughProxy(gateway.ready.proxyUrl, gateway.ready.caSpki);
});
test.afterAll(async () => {
  await browser?.close();
  expect(await gateway?.stop()).toBe(0);
  await site?.close();
});

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
    expect(site.requests.filter((request) => request.path === to).map((request) => request.headers['sec-fetch-dest'])).toEqual(['empty', 'document']);
    await context.close();
  });
}
