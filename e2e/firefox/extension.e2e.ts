import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import type { Browser, Page } from 'puppeteer-core';
import { expectOneNavigationPerChange, launchFirefox, type FirefoxSession } from '../support/firefox.js';
import { REPO_ROOT, startGatewayProcess, type GatewayChild } from '../support/gateway-process.js';
import type { TestSite } from '../support/test-site.js';
import { startProxyTestSite } from '../sites/proxy-test-site.js';
import { skipUnlessInstalled, TOOLS } from '../../test/support/required-tools.js';

// The extension's Firefox build (`npm run build:extension`; `npm run test:e2e` builds it first)
// as a temporary add-on in real Firefox, installed over WebDriver BiDi (`webExtension.install`).
// BiDi may not open the add-on's own pages (moz-extension:// navigation is refused), so what is
// checked is what the add-on does to pages: its content scripts, and its background's answers.
test.describe.configure({ mode: 'serial', timeout: 180_000 });

const FIREFOX_BUILD = join(REPO_ROOT, 'extension/.output/firefox-mv3');
const ADDON_ID = 'companion@aiplugs.dev';

interface Hook {
  owner: string;
  decided?: boolean;
  runtime?: string | null;
}
type Window = typeof globalThis & { __aiplugsNavigationHook?: Hook; AiPlugs?: { plugins: string[] } };

let gateway: GatewayChild;
let site: TestSite;
let firefox: FirefoxSession | undefined;

test.beforeAll(async () => {
  const missing = await skipUnlessInstalled(TOOLS.firefox);
  test.skip(missing !== false, `${missing}`);
  if (!existsSync(join(FIREFOX_BUILD, 'manifest.json'))) throw new Error(`No Firefox build at ${FIREFOX_BUILD}: run "npm run build:extension"`);
  site = await startProxyTestSite({ https: false });
  gateway = await startGatewayProcess({ args: ['--plugins-dir', join(REPO_ROOT, 'e2e/fixtures/plugins')] });
});

test.afterEach(async () => {
  await firefox?.close();
  firefox = undefined;
});

test.afterAll(async () => {
  if (gateway) expect(await gateway.stop()).toBe(0);
  await site?.close();
});

const hookOf = (page: Page) => page.evaluate(() => (window as Window).__aiplugsNavigationHook ?? null);

async function open(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(url);
  return page;
}

test('installs as a temporary add-on: its content scripts run in pages, and its background answers them', async () => {
  firefox = await launchFirefox();
  const before = await open(firefox.browser, `${site.origin}/spa`);
  expect(await hookOf(before)).toBeNull();

  expect(await firefox.browser.installExtension(FIREFOX_BUILD)).toBe(ADDON_ID);

  const page = await open(firefox.browser, `${site.origin}/spa`);
  // Straight to the site (no proxy): the add-on's hook is there and knows no runtime came.
  await expect.poll(() => hookOf(page)).toEqual(expect.objectContaining({ owner: 'extension', decided: true, runtime: null }));
  await expectOneNavigationPerChange(page);

  // A request as the fallback runtime makes it: the ISOLATED relay carries it to the background
  // script, which is not paired with a gateway and says so; the answer comes back to the page.
  const answer = await page.evaluate(
    () =>
      new Promise<unknown>((resolve) => {
        window.addEventListener('aiplugs:extension-response', (event) => resolve(JSON.parse((event as CustomEvent<string>).detail)), { once: true });
        window.dispatchEvent(new CustomEvent('aiplugs:extension-request', { detail: JSON.stringify({ id: 'probe-1', pluginId: 'ping', url: location.href, kind: 'model-status' }) }));
      }),
  );
  expect(answer).toEqual({ id: 'probe-1', ok: false, status: 503, error: { code: 'gateway_unpaired', message: 'The AiPlugs extension is not paired with a gateway' } });
});

test('with the proxy as well: the injected runtime adopts the add-on hook, and each SPA change still fires once', async () => {
  firefox = await launchFirefox({ proxyUrl: gateway.ready.proxyUrl });
  await firefox.browser.installExtension(FIREFOX_BUILD);
  const page = await open(firefox.browser, `${site.origin}/spa`);
  await expect.poll(() => page.evaluate(() => document.documentElement.dataset.ping ?? null), { timeout: 30_000 }).toBe(JSON.stringify({ pong: { from: '/spa' } }));
  expect(await page.evaluate(() => (window as Window).AiPlugs?.plugins)).toEqual(['marker', 'ping']);
  expect(await hookOf(page)).toEqual(expect.objectContaining({ owner: 'extension', decided: true, runtime: 'bridge' }));
  await expectOneNavigationPerChange(page);
});

test("the dashboard's one-click pairing says at once that Firefox pairs by hand (a code is bound to a Chromium extension id), and asks nothing", async () => {
  firefox = await launchFirefox();
  await firefox.browser.installExtension(FIREFOX_BUILD);
  const link = await fetch(`${gateway.ready.apiUrl}/api/dashboard/login-link`, { method: 'POST', headers: { authorization: `Bearer ${await gateway.token()}` } });
  const dashboard = await open(firefox.browser, ((await link.json()) as { url: string }).url);
  await expect.poll(() => dashboard.$eval('body', (element) => (element as HTMLElement).dataset.ready ?? null), { timeout: 20_000 }).toBe('true');
  const pages = (await firefox.browser.pages()).length;
  await dashboard.click('#pair-extension');
  await expect.poll(() => dashboard.$eval('#pair-result', (element) => (element as HTMLElement).dataset.state ?? null), { timeout: 20_000 }).toBe('failed');
  expect(await dashboard.$eval('#pair-result', (element) => element.textContent)).toContain('In Firefox the extension pairs by hand');
  expect((await firefox.browser.pages()).length).toBe(pages);
});
