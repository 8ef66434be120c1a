import { expect, test, type Page } from '@playwright/test';
import { badgeText, keepScreenshot, openPopup, tabIdOf } from './support/extension-browser.js';
import { expectPolicyInForce, framedBy } from './support/site-policy.js';
import { startPairedExtensionStack, type PairedExtensionStack } from './support/paired-stack.js';
import { goto } from '../support/navigate.js';

/**
 * The extension alongside the proxy: Chromium routed through the gateway (command-line proxy),
 * so documents arrive injected by the proxy and the extension adds navigation, UI and settings.
 */

type E2EWindow = Window & { __navs: string[]; __e2e?: { runs: Array<{ id: string; transport?: string }>; stops: string[] }; AiPlugs: { plugins: string[]; transport: string } };

let stack: PairedExtensionStack;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  stack = await startPairedExtensionStack({ proxied: true });
});

test.afterAll(async () => {
  await stack?.close();
});

const runsOf = (page: Page, id: string) => page.evaluate((wanted) => ((window as unknown as E2EWindow).__e2e?.runs ?? []).filter((run) => run.id === wanted).length, id);

test('SPA navigation fires one aiplugs:navigate per change and starts and stops plugins by URL', async () => {
  const page = await stack.browser.context.newPage();
  await goto(page, `${stack.site.origin}/spa/home`);
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  expect(await page.evaluate(() => (window as unknown as E2EWindow).AiPlugs.transport)).toBe('bridge'); // the proxy injected

  await page.click('#to-a');
  await expect(page.locator('html')).toHaveAttribute('data-run-spa-a', '1');
  await page.click('#to-b');
  await expect(page.locator('html')).toHaveAttribute('data-run-spa-b', '1');
  await expect(page.locator('html')).toHaveAttribute('data-stop-spa-a', '1');
  await page.goBack(); // popstate back to /spa/a
  await expect(page.locator('html')).toHaveAttribute('data-run-spa-a', '2');
  await expect(page.locator('html')).toHaveAttribute('data-stop-spa-b', '1');
  await page.click('#to-home');
  await expect(page.locator('html')).toHaveAttribute('data-stop-spa-a', '2');

  // Exactly one event per change, although the proxy's runtime and the extension are both there.
  expect(await page.evaluate(() => (window as unknown as E2EWindow).__navs)).toEqual(['/spa/home -> /spa/a', '/spa/a -> /spa/b', '/spa/b -> /spa/a', '/spa/a -> /spa/home']);
  expect(await runsOf(page, 'marker-start')).toBe(1);
  expect(await page.evaluate(() => (window as unknown as E2EWindow).AiPlugs.plugins)).toEqual(['marker-start']);
  await page.close();
});

test("the extension leaves the proxy's nonce mode alone: the site's policy and X-Frame-Options stay in force", async () => {
  const page = await stack.browser.context.newPage();
  await goto(page, `${stack.site.origin}/strict`);
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  expect(await page.evaluate(() => (window as unknown as E2EWindow).AiPlugs.transport)).toBe('bridge');
  // The proxy added its nonce to the policy; the site's inline script is blocked all the same.
  await expectPolicyInForce(page);
  const worker = await stack.browser.worker();
  expect(await worker.evaluate(() => chrome.declarativeNetRequest.getDynamicRules().then((rules) => rules.length))).toBe(0);
  // Framed by its own origin (DENY refuses even that): an IP host would fail the proxy's certificates.
  expect(await framedBy(stack.browser.context, stack.site.origin, `${stack.site.origin}/strict`)).toBe(false);
  await page.close();
});

test('the popup lists the tab plugins and the badge counts them', async () => {
  const page = await stack.browser.context.newPage();
  await goto(page, `${stack.site.origin}/spa/a`);
  await expect(page.locator('html')).toHaveAttribute('data-run-spa-a', '1');
  const tabId = await tabIdOf(stack.browser, page);
  await expect.poll(() => badgeText(stack.browser, tabId)).toBe('2');

  const popup = await openPopup(stack.browser.context, tabId);
  await expect(popup.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await expect(popup.getByTestId('injection')).toHaveAttribute('data-state', 'proxy');
  await expect(popup.getByTestId('tab-count')).toHaveText('2');
  await expect(popup.locator('li[data-plugin="marker-start"]')).toHaveAttribute('data-state', 'running');
  await expect(popup.locator('li[data-plugin="spa-a"]')).toHaveAttribute('data-state', 'running');
  await expect(popup.locator('li[data-plugin="marker-start"] .name')).toHaveText('Marker (document_start)');
  await expect(popup.locator('li[data-plugin="spa-b"]')).toHaveCount(0);
  await keepScreenshot(popup, 'popup-proxied-tab');
  await popup.close();
  await page.close();
});

test('turning a plugin off for the site stops it on the tab at once and the proxy stops injecting it', async () => {
  const page = await stack.browser.context.newPage();
  await goto(page, `${stack.site.origin}/plain`);
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  const tabId = await tabIdOf(stack.browser, page);
  const popup = await openPopup(stack.browser.context, tabId);
  await expect(popup.locator('li[data-plugin="marker-start"]')).toHaveAttribute('data-state', 'running');

  const style = () => page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--marker-start-style').trim());
  expect(await style()).toBe('on');

  await popup.getByTestId('toggle-marker-start').uncheck();
  await expect(page.locator('html')).toHaveAttribute('data-stop-marker-start', '1'); // told to tear down, no reload
  expect(await style()).toBe(''); // the style sheet the proxy wrote for it went with it
  await expect(popup.locator('li[data-plugin="marker-start"]')).toHaveAttribute('data-state', 'off');
  await expect.poll(() => badgeText(stack.browser, tabId)).toBe('');
  await keepScreenshot(popup, 'popup-plugin-off');

  const settings = await fetch(`${stack.gateway.ready.apiUrl}/api/settings`, { headers: { authorization: `Bearer ${await stack.gateway.token()}` } }).then((r) => r.json());
  expect(settings.plugin_disabled_sites['marker-start']).toEqual(['localhost']);
  await page.reload();
  await expect(page.locator('h1')).toHaveText('plain');
  expect(await runsOf(page, 'marker-start')).toBe(0);
  expect(await page.locator('script[data-aiplugs="runtime"]').count()).toBe(0); // the proxy injected nothing

  await popup.getByTestId('toggle-marker-start').check();
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1'); // started again, live
  await expect.poll(() => badgeText(stack.browser, tabId)).toBe('1');
  await popup.close();
  await page.close();
});

test('a page served by its own service worker gets its plugins from the extension, exactly once', async () => {
  const page = await stack.browser.context.newPage();
  await goto(page, `${stack.site.origin}/sw/install`);
  await expect(page.locator('html')).toHaveAttribute('data-sw-ready', '1');
  await goto(page, `${stack.site.origin}/sw/page`);
  await expect(page.locator('#origin')).toHaveText('served by the service worker');
  expect(stack.site.requests.some((request) => request.path === '/sw/page')).toBe(false); // never crossed the proxy
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  expect(await page.evaluate(() => (window as unknown as E2EWindow).AiPlugs.transport)).toBe('extension');
  expect(await runsOf(page, 'marker-start')).toBe(1);
  const tabId = await tabIdOf(stack.browser, page);
  const popup = await openPopup(stack.browser.context, tabId);
  await expect(popup.getByTestId('injection')).toHaveAttribute('data-state', 'extension');
  await keepScreenshot(popup, 'popup-service-worker-page');
  await popup.close();
  // Settled: a later look still finds one run (no second injection by a late event).
  await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 300)));
  expect(await runsOf(page, 'marker-start')).toBe(1);
  await page.close();
});

test('reload without plugins gives one plugin-free load of the tab, its frames included', async () => {
  const page = await stack.browser.context.newPage();
  await goto(page, `${stack.site.origin}/framer?src=/plain`);
  const framed = page.frameLocator('#framed');
  await expect(framed.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  const tabId = await tabIdOf(stack.browser, page);
  const popup = await openPopup(stack.browser.context, tabId);
  // The proxy is in this tab's path (the command-line proxy injected it), so the load is marked
  // for the proxy, which sends the document and its frame as the site did: nothing to stand down.
  const documents: Array<Promise<string>> = [];
  page.on('response', (response) => {
    if (response.request().resourceType() === 'document') documents.push(response.text());
  });
  await popup.getByTestId('reload-without').click();
  await expect(popup.getByTestId('injection')).toHaveAttribute('data-state', 'suppressed'); // recorded once that load is over
  await expect(framed.locator('h1')).toHaveText('plain');
  expect(page.frames()).toHaveLength(2);
  const bodies = await Promise.all(documents);
  expect(bodies).toHaveLength(2);
  for (const body of bodies) expect(body).not.toContain('data-aiplugs');
  for (const frame of page.frames()) {
    expect(await frame.evaluate(() => ['AiPlugs' in window, (window as unknown as E2EWindow).__e2e?.runs.length ?? 0, document.querySelectorAll('[data-aiplugs], [data-aiplugs-plugin]').length]), frame.url()).toEqual([false, 0, 0]);
  }
  await page.reload();
  await expect(framed.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  await popup.close();
  await page.close();
});
