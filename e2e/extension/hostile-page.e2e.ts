/**
 * The hostile web through the extension: a page browsed directly (no proxy), where the
 * extension's relay carries the fallback runtime's calls to the background, which holds the
 * token. Any script in the page can dispatch the relay's events without the runtime, so each
 * test is that attack; the gateway must treat what the background forwards as the page's call,
 * never as the user's. (The same attacks through the proxy's bridge: e2e/hostile-web.e2e.ts.)
 */
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { REPO_ROOT, startGatewayProcess, type GatewayChild } from '../support/gateway-process.js';
import { startPaidCloud, type PaidCloud } from '../support/paid-cloud.js';
import { respond, startTestSite, type TestSite } from '../support/test-site.js';
import { badgeText, launchWithExtension, openPopup, pairThroughPopup, tabIdOf, type ExtensionBrowser } from './support/extension-browser.js';
import { goto } from '../support/navigate.js';

const PLUGINS = join(REPO_ROOT, 'e2e/fixtures/hostile-plugins');

let site: TestSite;
let gateway: GatewayChild;
let browser: ExtensionBrowser;
let cloud: PaidCloud;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  cloud = await startPaidCloud();
  site = await startTestSite({ '/': respond(200, { 'content-type': 'text/html' }, '<!doctype html><html><head><title>evil</title></head><body><p>hi</p></body></html>') }, { https: false });
  gateway = await startGatewayProcess({
    args: ['--plugins-dir', PLUGINS],
    env: { SYSTEM_API_KEY: 'sk-hostile-page-test-key', CLOUD_BASE_URL: cloud.baseUrl, AIPLUGS_CLOUD_RETRIES: '0' },
  });
  browser = await launchWithExtension({}); // no proxy: the extension is the only way in
  await pairThroughPopup(browser.context, gateway.ready.apiUrl, await gateway.token());
});

test.afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  await site?.close();
  await cloud?.close();
});

async function open(): Promise<Page> {
  const tab = await browser.context.newPage();
  await goto(tab, `${site.origin}/`);
  // The fallback runtime and the guarded plugin's content script arrived through the extension.
  await expect(tab.locator('html')).toHaveAttribute('data-guarded', 'ran');
  return tab;
}

type Outcome = { ok: true; result: unknown } | { ok: false; code: string; message: string };

/** What any script of the page can do: no runtime, no capability, just the relay's DOM events. */
function relayCall(tab: Page, request: Record<string, unknown>): Promise<Outcome> {
  return tab.evaluate(
    (body) =>
      new Promise<Outcome>((resolve) => {
        const id = `attack-${Math.random()}`;
        window.addEventListener('aiplugs:extension-response', (event) => {
          const answer = JSON.parse((event as CustomEvent<string>).detail) as { id: string; ok: boolean; result?: unknown; error?: { code: string; message: string } };
          if (answer.id !== id) return;
          resolve(answer.ok ? { ok: true, result: answer.result } : { ok: false, code: answer.error!.code, message: answer.error!.message });
        });
        window.dispatchEvent(new CustomEvent('aiplugs:extension-request', { detail: JSON.stringify({ ...body, id, url: location.href }) }));
      }),
    request,
  );
}

const infer = (pluginId: string, body: Record<string, unknown>) => ({ kind: 'infer', pluginId, body });

test("a page cannot send a local-only plugin's call to the user's cloud server through the extension", async () => {
  const tab = await open();
  const before = cloud.calls();
  const outcome = await relayCall(tab, infer('guarded', { payload: { messages: [{ role: 'user', content: 'spend their credits' }] }, mode: 'cloud' }));
  expect(outcome).toMatchObject({ ok: false, code: 'mode_not_allowed' });
  expect(cloud.calls() - before).toBe(0);
  expect(await relayCall(tab, infer('guarded', { payload: { hello: 1 } }))).toEqual({ ok: true, result: { echo: { hello: 1 } } });
  await tab.close();
});

test("a page's cloud calls through the extension spend its plugin's budget, capped in answer length", async () => {
  const tab = await open();
  const before = cloud.calls();
  const asked = cloud.maxTokens.length;
  const outcomes: Outcome[] = [];
  for (let call = 0; call < 3; call += 1) outcomes.push(await relayCall(tab, infer('metered', { payload: { text: 'hi', max_tokens: 100_000 } })));
  expect(outcomes.map((outcome) => (outcome.ok ? 'ok' : outcome.code))).toEqual(['ok', 'ok', 'cloud_budget_exceeded']);
  expect(cloud.calls() - before).toBe(2);
  expect(cloud.maxTokens.slice(asked)).toEqual([64, 64]);
  await tab.close();
});

test('a page is told error codes through the extension, never paths, hashes or model sources', async () => {
  const tab = await open();
  const failing = await relayCall(tab, infer('failing', { payload: 1 }));
  const unprovisioned = await relayCall(tab, infer('unprovisioned', { payload: 1 }));
  for (const outcome of [failing, unprovisioned]) {
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.message).not.toMatch(/\/|[0-9a-f]{16}|file:|\.js|\.secret/);
    }
  }
  expect(failing).toMatchObject({ code: 'backend_error', message: "The plugin's backend failed on this request" });
  await tab.close();
});

test('a page cannot tell the extension it is another site', async () => {
  const tab = await open();
  const tabId = await tabIdOf(browser, tab);
  const worker = await browser.worker();
  const stored = async () => {
    const state = (await worker.evaluate((key) => chrome.storage.session.get(key), `tab:${tabId}`)) as Record<string, { url?: string; runtime?: { plugins?: Array<{ id: string }> } } | undefined>;
    return state[`tab:${tabId}`];
  };
  // A report in the runtime's shape, but for another site: the extension would resync, toggle
  // and offer to strip the policy of the site it names.
  await tab.evaluate(() =>
    window.dispatchEvent(
      new CustomEvent('aiplugs:runtime-status', { detail: JSON.stringify({ url: 'https://bank.example/', transport: 'extension', version: '1', plugins: [{ id: 'fake', state: 'running' }] }) }),
    ),
  );
  // Once the report is recorded (the page may describe its own plugins), the URL is still the page's.
  await expect.poll(async () => (await stored())?.runtime?.plugins?.map((plugin) => plugin.id)).toEqual(['fake']);
  expect((await stored())?.url).toBe(`${site.origin}/`);
  await tab.close();
});

test("a page's own runtime report cannot inflate the badge, credit commands to plugins not on it, or speak as the extension in the popup", async () => {
  const tab = await open();
  const tabId = await tabIdOf(browser, tab);
  const worker = await browser.worker();
  const reported = async () => {
    const state = (await worker.evaluate((key) => chrome.storage.session.get(key), `tab:${tabId}`)) as Record<string, { runtime?: { plugins?: unknown[] } } | undefined>;
    return state[`tab:${tabId}`]?.runtime?.plugins?.length;
  };
  const lure = 'Your AiPlugs token expired. Visit http://evil.example/repair to re-pair. '.repeat(5);
  await tab.evaluate((lure) => {
    const invented = Array.from({ length: 40 }, (_, index) => ({ id: `invented-${index}`, state: 'running' }));
    const report = {
      transport: 'extension',
      version: '1',
      // `guarded` runs here; `path-b` is installed but matches another path.
      plugins: [...invented, { id: 'path-b', state: 'running' }, { id: 'guarded', state: 'error', error: lure }],
      commands: [
        { pluginId: 'path-b', id: 1, label: 'Export my data' },
        { pluginId: 'guarded', id: 2, label: 'Guarded command' },
      ],
    };
    window.dispatchEvent(new CustomEvent('aiplugs:runtime-status', { detail: JSON.stringify(report) }));
  }, lure);
  await expect.poll(reported).toBe(42);
  // Only `guarded`, of the plugins the gateway matched to the page, counts (it was 42).
  await expect.poll(() => badgeText(browser, tabId)).toBe('1');
  const popup = await openPopup(browser.context, tabId);
  await expect(popup.getByTestId('menu-command')).toHaveText(['Guarded command']);
  const guarded = popup.locator('li[data-plugin="guarded"] .state');
  await expect(guarded).toHaveText(/^error, as the page reports it: Your AiPlugs token expired/);
  expect((await guarded.textContent())!.length).toBeLessThan(200);
  await popup.close();
  await tab.close();
});

test('a page cannot keep more than 32 calls in flight through the extension', async () => {
  const tab = await open();
  // All dispatched in one task, before any answer can arrive: what a flood looks like.
  const codes = await tab.evaluate(
    () =>
      new Promise<string[]>((resolve) => {
        const outcomes = new Map<string, string>();
        window.addEventListener('aiplugs:extension-response', (event) => {
          const answer = JSON.parse((event as CustomEvent<string>).detail) as { id: string; ok: boolean; error?: { code: string } };
          if (!answer.id.startsWith('flood-')) return;
          outcomes.set(answer.id, answer.ok ? 'ok' : answer.error!.code);
          if (outcomes.size === 40) resolve([...outcomes.values()]);
        });
        for (let i = 0; i < 40; i += 1) {
          window.dispatchEvent(new CustomEvent('aiplugs:extension-request', { detail: JSON.stringify({ kind: 'infer', pluginId: 'guarded', body: { payload: i }, id: `flood-${i}`, url: location.href }) }));
        }
      }),
  );
  expect(codes.filter((code) => code === 'ok')).toHaveLength(32);
  expect(codes.filter((code) => code === 'too_many_requests')).toHaveLength(8);
  await tab.close();
});

test("a page's flood of navigation events leaves the tab one sync behind, not thousands", async () => {
  const tab = await open();
  const tabId = await tabIdOf(browser, tab);
  const worker = await browser.worker();
  // Events with no change of URL, then real history changes mixed with status reports, as fast as a script can make them.
  await tab.evaluate(() => {
    for (let i = 0; i < 3000; i += 1) window.dispatchEvent(new CustomEvent('aiplugs:navigate'));
    for (let i = 0; i < 100; i += 1) {
      history.pushState(null, '', `/step-${i}`);
      window.dispatchEvent(new CustomEvent('aiplugs:runtime-status', { detail: JSON.stringify({ transport: 'extension', version: '1', plugins: [] }) }));
    }
  });
  // Each sync asks the gateway and the page; queued one per event, the last one came minutes later.
  await expect
    .poll(async () => ((await worker.evaluate((key) => chrome.storage.session.get(key), `tab:${tabId}`)) as Record<string, { url?: string }>)[`tab:${tabId}`]?.url, { timeout: 15_000 })
    .toBe(`${site.origin}/step-99`);
  await tab.close();
});

test("a page that never lets the extension's call into it finish holds up its own tab's sync for 30 s, not for ever", async () => {
  test.setTimeout(90_000);
  // The hook's objects live in the page's world: this page keeps saying "not decided yet" and never calls back.
  const stalling = await startTestSite(
    {
      '/': respond(
        200,
        { 'content-type': 'text/html' },
        `<!doctype html><html><head><script>
          const hook = window.__aiplugsNavigationHook;
          Object.defineProperty(hook, 'decided', { get: () => false, set: () => {} });
          hook.whenDecided = () => {};
        </script><title>stall</title></head><body><p>hi</p></body></html>`,
      ),
    },
    { https: false },
  );
  try {
    const tab = await browser.context.newPage();
    await goto(tab, `${stalling.origin}/`);
    const tabId = await tabIdOf(browser, tab);
    const worker = await browser.worker();
    const state = async () => ((await worker.evaluate((key) => chrome.storage.session.get(key), `tab:${tabId}`)) as Record<string, { url?: string; injection?: string; injectionError?: string }>)[`tab:${tabId}`];
    // Without the bound the sync waited for ever, and every later one on the tab queued behind it;
    // with it the tab's queue moves on after 30 s.
    await expect.poll(async () => (await state())?.injectionError ?? '', { timeout: 60_000, intervals: [1000] }).toContain('did not answer within 30 s');
    expect((await state())?.injection).toBe('failed');
    await tab.close();
  } finally {
    await stalling.close();
  }
});
