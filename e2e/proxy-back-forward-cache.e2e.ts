import { join } from 'node:path';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { launchThroughProxy } from './support/chromium.js';
import { REPO_ROOT, startGatewayProcess, type GatewayChild } from './support/gateway-process.js';
import { respond, startTestSite, type TestSite } from './support/test-site.js';

/**
 * Back and Forward show a page again as it was: from Chromium's back/forward cache, or else from
 * its HTTP cache, without asking the site. An injected document once came `no-store`, which took
 * both away: the back/forward cache dropped it whenever a later page set a cookie (analytics do, on
 * every page), and the HTTP cache had no copy, so Back loaded the page again, and a form's result
 * asked to send the form again. It now comes `private, no-cache`: stored for history loads, and
 * fetched anew through the proxy on any other load. A restored page keeps its plugins.
 * Playwright turns the back/forward cache off: `cached` keeps it, `uncached` shows the HTTP cache.
 */

interface PageSocket {
  on(type: string, callback: (detail: unknown) => void): void;
  send(message: unknown): void;
}
type Window = typeof globalThis & {
  __shows?: boolean[];
  __socket?: Array<{ type?: string } | string>;
  AiPlugs?: { plugins: string[]; infer(id: string, payload: unknown): Promise<unknown>; connect(id: string): PageSocket };
};

const html = { 'content-type': 'text/html' };
const LINK_ON = (next: string) => `<a id="next" href="${next}">next</a><script>addEventListener("pageshow", (event) => (window.__shows = window.__shows || []).push(event.persisted));</script>`;
let versions = 0;
let posts = 0;

let gateway: GatewayChild;
let site: TestSite;
let cached: Browser;
let uncached: Browser;

test.beforeAll(async () => {
  site = await startTestSite({
    '/first': respond(200, html, `<!doctype html><title>first</title>${LINK_ON('/second')}`),
    '/second': respond(200, html, '<!doctype html><title>second</title>second'),
    // As analytics do on every page view.
    '/sets-cookie': respond(200, html, '<!doctype html><title>cookie</title><script>document.cookie = "seen=" + Date.now();</script>'),
    '/versioned': (_request, response) => void response.writeHead(200, html).end(`<!doctype html><title>versioned</title><p id="version">${(versions += 1)}</p>${LINK_ON('/sets-cookie')}`),
    '/form': respond(200, html, '<!doctype html><title>form</title><form method="post" action="/result"><input name="q" value="hello"><button id="send">send</button></form>'),
    '/result': (request, response) => {
      posts += 1;
      request.resume().on('end', () => response.writeHead(200, html).end(`<!doctype html><title>result</title><p id="result">result ${posts}</p>${LINK_ON('/sets-cookie')}`));
    },
  });
  gateway = await startGatewayProcess({ args: ['--plugins-dir', join(REPO_ROOT, 'e2e/fixtures/plugins')] });
  cached = await launchThroughProxy(gateway.ready.proxyUrl, gateway.ready.caSpki, { ignoreDefaultArgs: ['--disable-back-forward-cache'] });
  uncached = await launchThroughProxy(gateway.ready.proxyUrl, gateway.ready.caSpki);
});

test.afterAll(async () => {
  await cached?.close();
  await uncached?.close();
  expect(await gateway?.stop()).toBe(0);
  await site?.close();
});

/** Follows the page's `#next` link, then goes back (a page restored from the back/forward cache fires no load event). */
async function nextAndBack(page: Page, next: RegExp): Promise<void> {
  await Promise.all([page.waitForURL(next), page.click('#next')]);
  await page.waitForLoadState('load');
  await page.goBack({ waitUntil: 'commit' });
  await expect.poll(() => page.evaluate(() => (window as Window).__shows?.length ?? 0)).toBeGreaterThan(0);
}

const requestsOf = (path: string) => site.requests.filter((request) => request.path === path).length;

test('Back restores an injected page from the back/forward cache, its plugins still answered by the gateway', async () => {
  const page = await cached.newPage();
  await page.goto(`${site.origin}/first`);
  // The ping plugin's call has been answered: the page has talked to the gateway before it is left.
  await expect.poll(() => page.evaluate(() => document.documentElement.dataset.ping ?? null)).not.toBeNull();
  await nextAndBack(page, /\/second$/);
  // [false, true]: the first load, then the restore, in the same document (a reload would show [false]).
  expect(await page.evaluate(() => (window as Window).__shows)).toEqual([false, true]);
  expect(await page.evaluate(() => (window as Window).AiPlugs?.plugins)).toEqual(['marker', 'ping']);
  expect(await page.evaluate(() => (window as Window).AiPlugs!.infer('ping', { after: 'restore' }))).toEqual({ pong: { after: 'restore' } });
  await page.close();
});

test('a page whose plugin holds a socket to the gateway is kept too, and the socket comes back after Back', async () => {
  const page = await cached.newPage();
  await page.goto(`${site.origin}/first`);
  await page.evaluate(() => {
    const socket = (window as Window).AiPlugs!.connect('ping');
    const seen: NonNullable<Window['__socket']> = ((window as Window).__socket = []);
    socket.on('open', () => {
      seen.push('open');
      socket.send({ type: 'infer', id: seen.length, payload: { n: seen.length } });
    });
    socket.on('message', (message) => seen.push(message as { type?: string }));
  });
  const answers = () => page.evaluate(() => ((window as Window).__socket ?? []).filter((message) => typeof message === 'object' && message.type === 'result').length);
  await expect.poll(answers).toBe(1);
  await nextAndBack(page, /\/second$/);
  expect(await page.evaluate(() => (window as Window).__shows)).toEqual([false, true]);
  // The browser closed it as the page left; the runtime opens it again, and it answers.
  await expect.poll(answers, { timeout: 15_000 }).toBe(2);
  await page.close();
});

test('a later page that sets a cookie does not cost an injected page its place in the back/forward cache', async () => {
  const page = await cached.newPage();
  await page.goto(`${site.origin}/versioned`);
  await nextAndBack(page, /\/sets-cookie$/);
  expect(await page.evaluate(() => (window as Window).__shows)).toEqual([false, true]);
  await page.close();
});

test('without the back/forward cache, Back shows the stored copy of an injected page; a new visit fetches it again', async () => {
  const page = await uncached.newPage();
  await page.goto(`${site.origin}/versioned`);
  const shown = await page.locator('#version').textContent();
  const before = requestsOf('/versioned');
  await nextAndBack(page, /\/sets-cookie$/);
  await expect(page.locator('#version')).toHaveText(shown!);
  expect(requestsOf('/versioned')).toBe(before);
  // Its plugins run there again, as on any load of the page.
  await expect(page.locator('html')).toHaveAttribute('data-ping', /pong/);
  await page.goto(`${site.origin}/versioned`);
  await expect(page.locator('#version')).not.toHaveText(shown!);
  expect(requestsOf('/versioned')).toBe(before + 1);
  await page.close();
});

test("Back to a form's result shows it again without sending the form again", async () => {
  for (const browser of [cached, uncached]) {
    const page = await browser.newPage();
    await page.goto(`${site.origin}/form`);
    await Promise.all([page.waitForURL(/\/result$/), page.click('#send')]);
    const result = await page.locator('#result').textContent();
    const sent = posts;
    await nextAndBack(page, /\/sets-cookie$/);
    await expect(page.locator('#result')).toHaveText(result!);
    expect(posts).toBe(sent);
    await page.close();
  }
});
