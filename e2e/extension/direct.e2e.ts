import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect, test, type Page } from '@playwright/test';
import getPort, { portNumbers } from 'get-port';
import { startGatewayProcess, type GatewayChild } from '../support/gateway-process.js';
import type { TestSite } from '../support/test-site.js';
import { badgeText, EXTENSION_ID, FIXTURE_PLUGINS, keepScreenshot, launchWithExtension, openPopup, pairThroughPopup, tabIdOf, type ExtensionBrowser } from './support/extension-browser.js';
import { startExtensionSite } from './support/extension-site.js';
import { goto } from '../support/navigate.js';
import type { HydrationRecord } from '../sites/react-ssr-page.js';

/**
 * The extension without the proxy in the way: Chromium connects to sites directly (no CA
 * installed), so plugins arrive only through the extension's fallback, and the extension's own
 * proxy-routing switch is what sends traffic through the gateway.
 */

type E2EWindow = Window & {
  __navs: string[];
  __e2e?: { runs: Array<{ id: string }>; stops: string[] };
  AiPlugs: { plugins: string[]; transport: string; infer: (id: string, payload: unknown) => Promise<unknown> };
};

/** A name browsers do not treat as local, resolved to 127.0.0.1 by the gateway only (see resolve-test-hosts.mjs). */
const ROUTED_HOST = 'site.aiplugs-e2e.test';
const RESOLVER = pathToFileURL(fileURLToPath(new URL('./support/resolve-test-hosts.mjs', import.meta.url))).href;

let gateway: GatewayChild;
let site: TestSite;
let browser: ExtensionBrowser;
let profile: string;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  site = await startExtensionSite();
  // An API port inside the contract's range, so that "Find" can discover this gateway.
  const apiPort = await getPort({ port: portNumbers(5000, 5100), host: '127.0.0.1' });
  gateway = await startGatewayProcess({
    args: ['--plugins-dir', FIXTURE_PLUGINS, '--api-port', String(apiPort)],
    env: { NODE_OPTIONS: `--import=${RESOLVER}`, AIPLUGS_PROXY_TRUSTED_TEST_HOSTS: `localhost,${ROUTED_HOST}` },
  });
  profile = await mkdtemp(join(tmpdir(), 'aiplugs-ext-profile-'));
  browser = await launchWithExtension({ caSpki: gateway.ready.caSpki, userDataDir: profile });
  await pairThroughPopup(browser.context, gateway.ready.apiUrl, await gateway.token());
});

test.afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  await site?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
});

test('"Find" discovers a gateway on the contract\'s API ports', async () => {
  const popup = await openPopup(browser.context);
  await popup.getByTestId('address').fill('');
  await popup.getByTestId('discover').click();
  await expect(popup.getByTestId('address')).toHaveValue(/^http:\/\/127\.0\.0\.1:(50\d\d|5100)$/);
  const found = await popup.getByTestId('address').inputValue();
  const health = await fetch(`${found}/api/health`).then((response) => response.json());
  expect(health.name).toBe('aiplugs');
  await popup.close();
  // Another gateway in the range (a developer's own) may have answered first: pair with ours again.
  if (found !== gateway.ready.apiUrl) await pairThroughPopup(browser.context, gateway.ready.apiUrl, await gateway.token());
});

const runsOf = (page: Page, id: string) => page.evaluate((wanted) => ((window as unknown as E2EWindow).__e2e?.runs ?? []).filter((run) => run.id === wanted).length, id);

test('with proxy routing off a page still gets its plugins, through the fallback, exactly once', async () => {
  const page = await browser.context.newPage();
  await goto(page, `${site.origin}/plain`);
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  expect(await page.evaluate(() => (window as unknown as E2EWindow).AiPlugs.transport)).toBe('extension');
  expect(await page.locator('script[data-aiplugs="runtime"]').count()).toBe(0); // nothing came from the proxy
  await page.waitForLoadState('load');
  expect(await runsOf(page, 'marker-start')).toBe(1);

  const tabId = await tabIdOf(browser, page);
  await expect.poll(() => badgeText(browser, tabId)).toBe('1');
  const popup = await openPopup(browser.context, tabId);
  await expect(popup.getByTestId('injection')).toHaveAttribute('data-state', 'extension');
  await expect(popup.locator('li[data-plugin="marker-start"]')).toHaveAttribute('data-state', 'running');
  await keepScreenshot(popup, 'popup-fallback-tab');
  await popup.close();
  await page.close();
});

test("a React 18 page that hydrates its whole document keeps its server render and the plugin's style sheet in the fallback too (one put in the head as the page began made React render it all again, without the sheet)", async () => {
  const page = await browser.context.newPage();
  await goto(page, `${site.origin}/react-ssr-streamed`);
  await expect.poll(() => page.evaluate(() => (window as Window & { __hydration?: HydrationRecord }).__hydration?.done ?? false)).toBe(true);
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  expect(await page.evaluate(() => (window as Window & { __hydration?: HydrationRecord }).__hydration?.errors)).toEqual([]);
  expect(await page.evaluate(() => (document.getElementById('server-rendered') as (HTMLElement & { __fromServer?: boolean }) | null)?.__fromServer ?? false)).toBe(true);
  await expect.poll(() => page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--marker-start-style').trim())).toBe('on');
  await page.close();
});

test("a tab that went on to a page no content script runs in (data:, about:blank) shows no plugin and no switch of the site before (the popup kept showing them)", async () => {
  const page = await browser.context.newPage();
  await goto(page, `${site.origin}/plain`);
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  const tabId = await tabIdOf(browser, page);
  for (const url of ['data:text/html,<p>data</p>', 'about:blank']) {
    await page.goto(url);
    const popup = await openPopup(browser.context, tabId);
    await expect(popup.getByTestId('injection')).toHaveAttribute('data-state', 'unsupported');
    await expect(popup.locator('#plugins li')).toHaveCount(0);
    await expect(popup.locator('#tab-host')).toHaveText('');
    await popup.close();
  }
  await page.close();
});

test('fallback plugins call the gateway through the extension, only for plugins active on the page', async () => {
  const page = await browser.context.newPage();
  await goto(page, `${site.origin}/plain`);
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  const call = (id: string) =>
    page.evaluate(
      (plugin) =>
        (window as unknown as E2EWindow).AiPlugs.infer(plugin, { n: 1 }).then(
          (result) => ({ ok: true as const, result, code: undefined }),
          (error: { code?: string }) => ({ ok: false as const, result: undefined, code: error.code }),
        ),
      id,
    );
  const refused = await call('spa-a');
  expect(refused).toMatchObject({ ok: false, code: 'plugin_not_active' });
  // The active plugin's call reaches the gateway: its answer (or the gateway's own error, while
  // local inference is not wired in) comes back — not the extension's refusal.
  const allowed = await call('marker-start');
  if (allowed.ok) expect(allowed.result).toEqual({ echo: { n: 1 } });
  else expect(['plugin_not_active', 'extension_unavailable', 'gateway_unpaired', 'forbidden']).not.toContain(allowed.code);
  await page.close();
});

test('SPA navigation in a fallback page starts and stops plugins, one event per change', async () => {
  const page = await browser.context.newPage();
  await goto(page, `${site.origin}/spa/home`);
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  await page.click('#to-a');
  await expect(page.locator('html')).toHaveAttribute('data-run-spa-a', '1');
  await page.click('#to-b');
  await expect(page.locator('html')).toHaveAttribute('data-run-spa-b', '1');
  await expect(page.locator('html')).toHaveAttribute('data-stop-spa-a', '1');
  expect(await page.evaluate(() => (window as unknown as E2EWindow).__navs)).toEqual(['/spa/home -> /spa/a', '/spa/a -> /spa/b']);
  expect(await runsOf(page, 'marker-start')).toBe(1);
  await page.close();
});

test('the proxy-routing switch sends the tab through the gateway and back', async () => {
  const popup = await openPopup(browser.context);
  await popup.getByTestId('proxy-routing').check();
  const worker = await browser.worker();
  await expect.poll(() => worker.evaluate(() => chrome.proxy.settings.get({}).then((setting) => setting.value.mode))).toBe('pac_script');
  const pac = await worker.evaluate(() => chrome.proxy.settings.get({}).then((setting) => setting.value.pacScript?.data ?? ''));
  expect(pac).toContain(`PROXY 127.0.0.1:${gateway.ready.proxyPort}`);
  await keepScreenshot(popup, 'popup-proxy-routing-on');

  const page = await browser.context.newPage();
  await goto(page, `https://${ROUTED_HOST}:${site.port}/plain`); // resolvable only by the gateway
  await expect(page.locator('h1')).toHaveText('plain');
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  expect(await page.evaluate(() => (window as unknown as E2EWindow).AiPlugs.transport)).toBe('bridge'); // injected by the proxy
  expect(await runsOf(page, 'marker-start')).toBe(1);
  // The gateway itself and local sites stay direct.
  await goto(page, `${site.origin}/plain`);
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  expect(await page.evaluate(() => (window as unknown as E2EWindow).AiPlugs.transport)).toBe('extension');

  await popup.getByTestId('proxy-routing').uncheck();
  await expect.poll(() => worker.evaluate(() => chrome.proxy.settings.get({}).then((setting) => setting.value.mode))).not.toBe('pac_script');
  await popup.close();
  await page.close();
});

test('settings and tab state survive a service-worker restart', async () => {
  const page = await browser.context.newPage();
  await goto(page, `${site.origin}/plain`);
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  const tabId = await tabIdOf(browser, page);
  await expect.poll(() => badgeText(browser, tabId)).toBe('1');

  // Stop the worker as Chromium does when it idles (DevTools protocol), and watch it come back.
  const observer = await openPopup(browser.context);
  const cdp = await browser.context.newCDPSession(observer);
  const states: string[] = [];
  cdp.on('ServiceWorker.workerVersionUpdated', (event) => {
    for (const version of event.versions) if (version.scriptURL.startsWith(`chrome-extension://${EXTENSION_ID}/`)) states.push(version.runningStatus);
  });
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');
  await expect.poll(() => states.at(-1)).toBe('stopped');
  const popup = await openPopup(browser.context, tabId); // its first message wakes a fresh worker
  await expect.poll(() => states.at(-1)).toBe('running');
  await expect(popup.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await expect(popup.getByTestId('address')).toHaveValue(gateway.ready.apiUrl);
  await expect(popup.locator('li[data-plugin="marker-start"]')).toHaveAttribute('data-state', 'running');
  await expect(popup.getByTestId('tab-count')).toHaveText('1');
  // The new worker serves the page as the old one did.
  await page.click('body');
  await page.evaluate(() => history.pushState({}, '', '/spa/a'));
  await expect(page.locator('html')).toHaveAttribute('data-run-spa-a', '1');
  await popup.close();
  await observer.close();
  await page.close();
});

test('pairing and switches survive a browser restart', async () => {
  await browser.close();
  browser = await launchWithExtension({ caSpki: gateway.ready.caSpki, userDataDir: profile });
  const popup = await openPopup(browser.context);
  await expect(popup.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await expect(popup.getByTestId('address')).toHaveValue(gateway.ready.apiUrl);
  const page = await browser.context.newPage();
  await goto(page, `${site.origin}/plain`);
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  await popup.close();
  await page.close();
});

test('gateway down: the popup says so, and a page load reports the failed injection', async () => {
  expect(await gateway.stop()).toBe(0);
  const page = await browser.context.newPage();
  await goto(page, `${site.origin}/plain`);
  await expect(page.locator('h1')).toHaveText('plain');
  const tabId = await tabIdOf(browser, page);
  await expect.poll(() => badgeText(browser, tabId)).toBe('!');
  const popup = await openPopup(browser.context, tabId);
  await expect(popup.getByTestId('connection')).toHaveAttribute('data-state', 'down');
  await expect(popup.getByTestId('connection')).toContainText('not running');
  await expect(popup.getByTestId('injection')).toHaveAttribute('data-state', 'failed');
  await expect(popup.getByTestId('injection')).toContainText('not reachable');
  await expect(popup.getByTestId('retry')).toBeVisible();
  await keepScreenshot(popup, 'popup-gateway-down');
  await popup.close();
  await page.close();
});
