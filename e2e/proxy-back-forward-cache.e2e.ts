import { join } from 'node:path';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { launchThroughProxy } from './support/chromium.js';
import { REPO_ROOT, startGatewayProcess, type GatewayChild } from './support/gateway-process.js';
import { respond, startTestSite, type TestSite } from './support/test-site.js';

/**
 * Back and Forward restore a page from Chromium's back/forward cache instead of loading it again.
 * An injected document is sent `no-store` (its capability must not be replayed from the HTTP
 * cache), which once kept every such page out of that cache: Back reloaded every site the user
 * had plugins on. Chromium now keeps it, and so must the runtime (no socket, no unload handler
 * of its own). A restored page keeps its plugins: calls to the gateway still go through.
 * Playwright turns the cache off; these browsers keep it.
 */

type Window = typeof globalThis & { __shows?: boolean[]; AiPlugs?: { plugins: string[]; infer(id: string, payload: unknown): Promise<unknown> } };

const FIRST = '<!doctype html><html><head><title>first</title></head><body><a id="next" href="/second">next</a><script>addEventListener("pageshow", (event) => (window.__shows = window.__shows || []).push(event.persisted));</script></body></html>';
const SECOND = '<!doctype html><html><head><title>second</title></head><body>second</body></html>';

let gateway: GatewayChild;
let site: TestSite;
let browser: Browser;

test.beforeAll(async () => {
  site = await startTestSite({ '/first': respond(200, { 'content-type': 'text/html' }, FIRST), '/second': respond(200, { 'content-type': 'text/html' }, SECOND) });
  gateway = await startGatewayProcess({ args: ['--plugins-dir', join(REPO_ROOT, 'e2e/fixtures/plugins')] });
  browser = await launchThroughProxy(gateway.ready.proxyUrl, gateway.ready.caSpki, { ignoreDefaultArgs: ['--disable-back-forward-cache'] });
});

test.afterAll(async () => {
  await browser?.close();
  expect(await gateway?.stop()).toBe(0);
  await site?.close();
});

async function backToFirst(page: Page): Promise<void> {
  await page.goto(`${site.origin}/first`);
  // The ping plugin's call has been answered: the page has talked to the gateway before it is left.
  await expect.poll(() => page.evaluate(() => document.documentElement.dataset.ping ?? null)).not.toBeNull();
  await Promise.all([page.waitForURL(/\/second$/), page.click('#next')]);
  // A page restored from the cache fires no load event.
  await page.goBack({ waitUntil: 'commit' });
}

test('Back restores an injected page from the back/forward cache, its plugins still answered by the gateway', async () => {
  const page = await browser.newPage();
  await backToFirst(page);
  // [false, true]: the first load, then the restore, in the same document (a reload stays at [false]).
  await expect.poll(() => page.evaluate(() => (window as Window).__shows ?? null)).toEqual([false, true]);
  expect(await page.evaluate(() => (window as Window).AiPlugs?.plugins)).toEqual(['marker', 'ping']);
  expect(await page.evaluate(() => (window as Window).AiPlugs!.infer('ping', { after: 'restore' }))).toEqual({ pong: { after: 'restore' } });
  await page.close();
});
