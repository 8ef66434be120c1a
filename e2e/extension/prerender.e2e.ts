import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { expect, test } from '@playwright/test';
import { devtoolsPipe, type DevtoolsPipe } from '../../gateway/src/browser/devtools-pipe.js';
import { pairOverPipe } from '../../gateway/src/browser/pair-over-pipe.js';
import { requestPairingCode } from '../../gateway/src/browser/gateway-link.js';
import { chromiumPath, QUIET_CHROMIUM_ARGS } from '../support/chromium.js';
import { startGatewayProcess, type GatewayChild } from '../support/gateway-process.js';
import { respond, startTestSite, type TestSite } from '../support/test-site.js';
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
let pipe: DevtoolsPipe;
let closeBrowser: (() => Promise<void>) | undefined;

const html = (head: string, body: string) => respond(200, { 'content-type': 'text/html; charset=utf-8' }, `<!doctype html><html><head><title>t</title>${head}</head><body>${body}</body></html>`);

test.beforeAll(async () => {
  site = await startTestSite(
    {
      '/': html('<script type="speculationrules">{"prerender": [{"source": "list", "urls": ["/next"]}]}</script>', '<a id="go" href="/next">next</a>'),
      '/next': html('', '<p>next</p><img src="/seen.gif" alt="">'),
      // Asked for once the prerendered page is parsing: it is far enough along to be shown.
      '/seen.gif': respond(200, { 'content-type': 'image/gif', 'cache-control': 'no-store' }, Buffer.from('R0lGODlhAQABAAAAACw=', 'base64')),
    },
    { https: false },
  );
  gateway = await startGatewayProcess({ args: ['--plugins-dir', FIXTURE_PLUGINS] });
});
test.afterEach(async () => closeBrowser?.());
test.afterAll(async () => {
  await gateway?.stop();
  await site?.close();
});

/** Chromium with the extension, paired over the pipe; through the gateway's proxy when `proxied`. */
async function launch(proxied: boolean): Promise<void> {
  const profileDir = await mkdtemp(join(tmpdir(), 'aiplugs-ext-prerender-'));
  const proxy = proxied ? [`--proxy-server=${gateway.ready.proxyUrl}`, '--proxy-bypass-list=<-loopback>', `--ignore-certificate-errors-spki-list=${gateway.ready.caSpki}`] : [];
  const args = [`--user-data-dir=${profileDir}`, '--headless', ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), ...proxy, `--load-extension=${EXTENSION_DIR}`, `--disable-extensions-except=${EXTENSION_DIR}`, '--remote-debugging-pipe', ...QUIET_CHROMIUM_ARGS, 'about:blank'];
  const browser = spawn(chromiumPath() ?? 'chromium', args, { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
  closeBrowser = async () => {
    browser.kill('SIGKILL');
    await rm(profileDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  };
  pipe = devtoolsPipe(browser.stdio[3] as Writable, browser.stdio[4] as Readable);
  await pairOverPipe(pipe, EXTENSION_ID, gateway.ready.apiUrl, await requestPairingCode(gateway.ready.apiUrl, await gateway.token(), EXTENSION_ID));
}

/** Evaluates `expression` in the target of `type` at `url` (a page shown, or the extension's worker). */
async function evaluateIn(url: string, expression: string, type = 'page'): Promise<unknown> {
  const { targetInfos } = await pipe.call<{ targetInfos: Array<{ targetId: string; type: string; url: string; subtype?: string }> }>('Target.getTargets');
  const target = targetInfos.find((info) => info.type === type && info.url.startsWith(url) && (type !== 'page' || info.url === url) && info.subtype !== 'prerender');
  if (!target) return undefined;
  const { sessionId } = await pipe.call<{ sessionId: string }>('Target.attachToTarget', { targetId: target.targetId, flatten: true });
  try {
    return (await pipe.call<{ result: { value?: unknown } }>('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, 15_000, sessionId)).result.value;
  } finally {
    await pipe.call('Target.detachFromTarget', { sessionId });
  }
}

/** Opens the page that prerenders /next, waits for that prerender to load, and clicks through to it. */
async function showPrerendered(): Promise<void> {
  const count = (path: string, purpose?: string) => site.requests.filter((request) => request.path === path && (!purpose || String(request.headers['sec-purpose']).includes(purpose))).length;
  const [prerenders, seen] = [count('/next', 'prerender'), count('/seen.gif')];
  // Nothing attaches to the page until its prerender has begun: Chromium prerenders nothing for a
  // page a DevTools client is attached to (PrerenderingDisabledByDevTools).
  await pipe.call('Target.createTarget', { url: `${site.origin}/` });
  await expect.poll(() => count('/next', 'prerender'), { message: 'Chromium prerendered /next' }).toBe(prerenders + 1);
  await expect.poll(() => count('/seen.gif'), { message: 'the prerendered page is loading' }).toBe(seen + 1);
  // Time for it to report itself (ignored before the fix).
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await evaluateIn(`${site.origin}/`, "document.getElementById('go').click()");
}

test('a page Chromium prerendered gets its plugins from the extension once shown', async () => {
  await launch(false);
  await showPrerendered();
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
  await showPrerendered();
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
