import { expect, test } from '@playwright/test';
import { pairOverPipe } from '../../gateway/src/browser/pair-over-pipe.js';
import { requestPairingCode } from '../../gateway/src/browser/gateway-link.js';
import { startGatewayProcess, type GatewayChild } from '../support/gateway-process.js';
import { evaluateIn as evaluateOverPipe, launchPipedChromium, PRERENDER_SITE, showPrerendered, type PipedChromium } from '../support/prerender-pipe.js';
import { startTestSite, type TestSite } from '../support/test-site.js';
import { EXTENSION_DIR, EXTENSION_ID, FIXTURE_PLUGINS } from './support/extension-browser.js';

/**
 * Pages Chromium prerenders (a site's speculation rules, the address bar's guess) report
 * themselves from a frame that is not yet the tab's, which the extension ignores:
 * - without the proxy, the extension runs a page's plugins, and such a page, once shown, never
 *   got them; now its load is told when it is shown;
 * - behind the proxy, the page runtime's reports made while prerendering were lost, and the popup
 *   showed the page's plugins as starting for ever; now the last one is told when it is shown.
 * Playwright turns prerendering off in the browsers it drives, so this test drives Chromium over
 * its DevTools pipe, as `aiplugs browser` does, and pairs the extension the same way.
 */

let gateway: GatewayChild;
let site: TestSite;
let chromium: PipedChromium | undefined;

test.beforeAll(async () => {
  site = await startTestSite(PRERENDER_SITE, { https: false });
  gateway = await startGatewayProcess({ args: ['--plugins-dir', FIXTURE_PLUGINS] });
});
test.afterEach(async () => chromium?.close());
test.afterAll(async () => {
  await gateway?.stop();
  await site?.close();
});

/** Chromium with the extension, paired over the pipe; through the gateway's proxy when `proxied`. */
async function launch(proxied: boolean): Promise<void> {
  const proxy = proxied ? [`--proxy-server=${gateway.ready.proxyUrl}`, '--proxy-bypass-list=<-loopback>', `--ignore-certificate-errors-spki-list=${gateway.ready.caSpki}`] : [];
  chromium = await launchPipedChromium([...proxy, `--load-extension=${EXTENSION_DIR}`, `--disable-extensions-except=${EXTENSION_DIR}`]);
  await pairOverPipe(chromium.pipe, EXTENSION_ID, gateway.ready.apiUrl, await requestPairingCode(gateway.ready.apiUrl, await gateway.token(), EXTENSION_ID));
}

const evaluateIn = (url: string, expression: string, type?: string) => evaluateOverPipe(chromium!.pipe, url, expression, type);

test('a page Chromium prerendered gets its plugins from the extension once shown', async () => {
  await launch(false);
  // Time for it to report itself (ignored before the fix).
  await showPrerendered(chromium!.pipe, site, 1000);
  const read = "JSON.stringify({ activationStart: performance.getEntriesByType('navigation')[0].activationStart, runs: (window.__e2e || { runs: [] }).runs })";
  let shown: { activationStart: number; runs: Array<{ url: string; transport: string }> } | undefined;
  await expect
    .poll(async () => {
      const value = await evaluateIn(`${site.origin}/next`, read);
      shown = typeof value === 'string' ? (JSON.parse(value) as typeof shown) : undefined;
      return shown?.runs.length;
    }, { timeout: 20_000, message: 'the plugin ran in the page shown' })
    .toBe(1);
  expect(shown!.activationStart, 'the page shown is the prerendered one').toBeGreaterThan(0);
  expect(shown!.runs[0]).toMatchObject({ url: `${site.origin}/next`, transport: 'extension' });
});

test("behind the proxy, the popup's state for a prerendered page shown has its plugins as the runtime reported them", async () => {
  await launch(true);
  await showPrerendered(chromium!.pipe, site, 1000);
  await expect.poll(() => evaluateIn(`${site.origin}/next`, "document.documentElement.getAttribute('data-run-marker-start')"), { timeout: 20_000 }).toBe('1');
  expect(await evaluateIn(`${site.origin}/next`, "performance.getEntriesByType('navigation')[0].activationStart > 0"), 'the page shown is the prerendered one').toBe(true);
  const tabState = `chrome.tabs.query({}).then((tabs) => tabs.find((tab) => tab.url === '${site.origin}/next')).then((tab) => tab && chrome.storage.session.get('tab:' + tab.id)).then((stored) => JSON.stringify(stored ? Object.values(stored)[0] ?? null : null))`;
  let state: { injection?: string; runtime?: { url: string; plugins: Array<{ id: string; state: string }> } } | null = null;
  await expect
    .poll(async () => {
      state = JSON.parse(String(await evaluateIn(`chrome-extension://${EXTENSION_ID}/`, tabState, 'service_worker'))) as typeof state;
      return state?.runtime ? [state.runtime.url, ...state.runtime.plugins.map((plugin) => `${plugin.id}:${plugin.state}`)] : null;
    }, { timeout: 20_000, message: "the tab's state has the shown page's report (not the one before it)" })
    .toEqual([`${site.origin}/next`, 'marker-start:running']);
  expect(state!).toMatchObject({ injection: 'proxy' });
});
