import { expect, test, type Page } from '@playwright/test';
import { webAiConformance, type ConformanceParams, type ConformanceResult } from './conformance-checks.js';
import { FAKE_AVAILABLE_NATIVE, REMOVE_NATIVE, WEB_AI_GLOBALS } from './native-scripts.js';
import { conformanceServerOptions, DEFAULT_MODEL_PATH, startWebAiStack, type WebAiStack } from './webai-stack.js';
import { startExampleGateway, type ExampleGateway } from '../plugins/support.js';
import { launchThroughProxy } from '../support/chromium.js';
import { REPO_ROOT } from '../support/gateway-process.js';
import { goto } from '../support/navigate.js';
import { respond, startTestSite } from '../support/test-site.js';

// The browser's built-in AI APIs in real Chromium through the proxy, answered by the gateway as
// `npm start` runs it: the runtime defines the globals, and the in-page conformance checks
// (conformance-checks.ts, shared with the Firefox runner) run in three browsers' situations:
// (a) no native API (an init script deletes them), (b) Debian's Chromium as shipped (native
// LanguageDetector, Summarizer, LanguageModel "unavailable", Translator en→fr "downloadable"),
// (c) an init script providing an available native API, which the runtime must leave alone.
// The LLM is the tiny generated GGUF served by a loopback server under the DEFAULT model's
// declaration (the real model is never downloaded); lid.176 comes from the package's copy.

test.describe.configure({ mode: 'serial', timeout: 180_000 });

let stack: WebAiStack;

test.beforeAll(async () => {
  stack = await startWebAiStack(conformanceServerOptions());
});

test.afterAll(async () => stack?.close());

/** A page of the test site with the runtime injected, after `initScript` (if any) ran. */
async function openPage(initScript?: string, path = '/ai'): Promise<{ page: Page; webAiRequests: string[] }> {
  const page = await stack.browser.newPage();
  const webAiRequests: string[] = [];
  page.on('request', (request) => {
    if (/\/__aiplugs\/cap\/[^/]+\/api\/webai\//.test(request.url())) webAiRequests.push(request.url());
  });
  if (initScript) await page.addInitScript(initScript);
  await goto(page, `${stack.site.origin}${path}`);
  await expect.poll(() => page.evaluate(() => typeof (window as unknown as { AiPlugs?: unknown }).AiPlugs)).toBe('object');
  return { page, webAiRequests };
}

/** Runs one phase of the in-page checks; `gesture` clicks first (transient user activation for a download). */
async function conformance(page: Page, params: ConformanceParams, gesture = false): Promise<ConformanceResult[]> {
  if (gesture) await page.locator('#go').click();
  const results = await page.evaluate(webAiConformance, params);
  expect(results.length).toBeGreaterThan(0);
  expect(results.filter((result) => !result.ok)).toEqual([]);
  return results;
}

test('(a) no native API: the runtime defines all seven, with the specs shapes, errors, download, streaming and abort', async () => {
  const { page } = await openPage(REMOVE_NATIVE);
  expect(await page.evaluate((names) => names.filter((name) => typeof (window as unknown as Record<string, unknown>)[name] !== 'function'), WEB_AI_GLOBALS)).toEqual([]);
  await conformance(page, { phase: 'shapes', llmDownloadable: true });
  // The spec: a create() that would download needs transient user activation.
  const noGesture = await openPage(REMOVE_NATIVE, '/no-gesture');
  expect(await noGesture.page.evaluate(() => (window as unknown as { __createWithoutGesture: Promise<string> }).__createWithoutGesture)).toBe('NotAllowedError');
  expect(stack.modelServer.requestsFor(DEFAULT_MODEL_PATH)).toHaveLength(0);
  await noGesture.page.close();
  await conformance(page, { phase: 'download' }, true);
  expect(stack.modelServer.requestsFor(DEFAULT_MODEL_PATH).length).toBeGreaterThanOrEqual(1);
  await conformance(page, { phase: 'session', overQuotaChars: 70_000 }, true);
  await page.close();
});

test('(b) Debian Chromium as shipped: natives that say "unavailable" are answered by AiPlugs', async () => {
  // Keeps the browser's own objects before the runtime runs, to ask them afterwards.
  const { page } = await openPage(`window.__natives = Object.fromEntries(${JSON.stringify(WEB_AI_GLOBALS)}.map((name) => [name, window[name]]));`);
  const natives = await page.evaluate(async () => {
    type Api = { availability(options: object): Promise<string> } | undefined;
    const w = window as unknown as Record<string, Api> & { __natives: Record<string, Api> };
    const present = Object.entries(w.__natives).filter(([, api]) => typeof api === 'function');
    const options = (name: string) => (name === 'Translator' ? { sourceLanguage: 'en', targetLanguage: 'fr' } : {});
    return Promise.all(present.map(async ([name, api]) => ({ name, native: await api!.availability(options(name)), replacedGlobal: w[name] !== api })));
  });
  // What Debian's Chromium 156 ships (STACK-NOTES): three natives with no model behind them.
  for (const name of ['LanguageDetector', 'Summarizer', 'LanguageModel']) {
    expect(natives).toContainEqual({ name, native: 'unavailable', replacedGlobal: true });
  }
  // Translator en→fr is "downloadable" natively here (see STACK-NOTES): the browser's answer stands.
  const nativeAnswers = ['Translator'];
  await conformance(page, { phase: 'shapes', nativeAnswers });
  await conformance(page, { phase: 'session', nativeAnswers }, true);
  await page.close();
});

test('(c) an available native API is left to answer: its objects, and no Web AI request reaches the gateway', async () => {
  const { page, webAiRequests } = await openPage(FAKE_AVAILABLE_NATIVE);
  await conformance(page, { phase: 'native-available' });
  expect(webAiRequests).toEqual([]);
  await page.close();
});

test("a frame gets no Web AI (the specs' default policy is 'self', and a frame's request does not show who embeds it); the page does, and a frame of its origin can use its parent's", async () => {
  const other = await startTestSite({ '/ai': respond(200, { 'content-type': 'text/html' }, '<!doctype html><html><head><title>embed</title></head><body>embed</body></html>') });
  const page = await stack.browser.newPage();
  try {
    await page.addInitScript(REMOVE_NATIVE);
    await goto(page, `${stack.site.origin}/ai-frames?other=${encodeURIComponent(other.origin)}`);
    const frame = (origin: string) => page.frames().find((candidate) => candidate !== page.mainFrame() && candidate.url().startsWith(origin))!;
    const seen = (origin: string) =>
      frame(origin)?.evaluate(() => ({ runtime: typeof (window as unknown as { AiPlugs?: unknown }).AiPlugs, summarizer: typeof (window as unknown as { Summarizer?: unknown }).Summarizer }));
    // Both frames have the runtime (a fixture plugin asks for frames), the page has Web AI.
    expect(await page.evaluate(() => typeof (window as unknown as { Summarizer?: unknown }).Summarizer)).toBe('function');
    await expect.poll(() => seen(stack.site.origin)).toEqual({ runtime: 'object', summarizer: 'undefined' });
    await expect.poll(() => seen(other.origin)).toEqual({ runtime: 'object', summarizer: 'undefined' });
    // The ad frame reloads itself (a same-origin navigation of its own): still none.
    type Marked = { __beforeReload?: boolean; AiPlugs?: unknown; Summarizer?: unknown };
    await frame(other.origin).evaluate(() => {
      (window as unknown as Marked).__beforeReload = true;
      setTimeout(() => location.reload(), 0);
    });
    const reloaded = () =>
      frame(other.origin)
        ?.evaluate(() => {
          const w = window as unknown as Marked;
          return { reloaded: w.__beforeReload !== true, runtime: typeof w.AiPlugs, summarizer: typeof w.Summarizer };
        })
        .catch(() => null);
    await expect.poll(reloaded).toEqual({ reloaded: true, runtime: 'object', summarizer: 'undefined' });
    expect(await frame(stack.site.origin).evaluate(() => typeof (parent as unknown as { Summarizer?: unknown }).Summarizer)).toBe('function');
  } finally {
    await page.close();
    await other.close();
  }
});

/**
 * The test site's `/ai` in a browser of its own, through a gateway of its own (`env`), after
 * `initScript`, once the runtime is there; the gateway is closed afterwards (a second close is a no-op).
 */
async function onOwnGateway(env: NodeJS.ProcessEnv, initScript: string, body: (page: Page, gateway: ExampleGateway) => Promise<void>): Promise<void> {
  const gateway = await startExampleGateway({ pluginsDir: `${REPO_ROOT}e2e/fixtures/plugins`, env });
  const browser = await launchThroughProxy(gateway.ready.proxyUrl, gateway.ready.caSpki);
  try {
    const page = await browser.newPage();
    await page.addInitScript(initScript);
    await goto(page, `${stack.site.origin}/ai`);
    await expect.poll(() => page.evaluate(() => typeof (window as unknown as { AiPlugs?: unknown }).AiPlugs)).toBe('object');
    await body(page, gateway);
  } finally {
    await browser.close();
    expect(await gateway.close()).toBe(0);
  }
}

test('a gateway that cannot be reached is an UnknownError DOMException, as the specs have it for what is not the page\'s doing (it was fetch\'s TypeError)', async () => {
  await onOwnGateway({}, REMOVE_NATIVE, async (page, gateway) => {
    // The page stays; the gateway (its proxy and bridge) goes.
    expect(await gateway.close()).toBe(0);
    const failure = await page.evaluate(() =>
      (window as unknown as { Summarizer: { availability(): Promise<string> } }).Summarizer.availability().then(
        () => 'resolved',
        (error: Error) => `${error instanceof DOMException ? 'DOMException' : 'other'} ${error.name}`,
      ),
    );
    expect(failure).toBe('DOMException UnknownError');
  });
});

test('with webai.replace_native the user gets AiPlugs even where the native one is available', async () => {
  await onOwnGateway({ AIPLUGS_WEBAI_REPLACE_NATIVE: 'true' }, FAKE_AVAILABLE_NATIVE, async (page) => {
    // The fresh gateway has no model: AiPlugs' truthful answer, not the fake's "available".
    expect(await page.evaluate(() => (window as unknown as { LanguageModel: { availability(): Promise<string> } }).LanguageModel.availability())).toBe('downloadable');
  });
});
