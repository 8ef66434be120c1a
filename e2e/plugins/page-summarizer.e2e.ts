import { expect, test, type Browser, type Page } from '@playwright/test';
import { startModelServer, type ModelTestServer } from '../../gateway/src/models/testing/model-test-server.js';
import { buildTinyGguf } from '../../gateway/src/webai/testing/tiny-gguf.js';
import { launchThroughProxy } from '../support/chromium.js';
import { clickDock, dockElements, dockSummary, recordDockPanel, type DockElement } from '../support/page-dock.js';
import { hostileCss, startExampleGateway, startExampleStack, strictPage, type ExampleStack } from './support.js';
import { goto } from '../support/navigate.js';

// Page Summarizer end to end on the standard Summarizer API, with NO cloud configured: the page
// runtime's Summarizer is answered by the gateway's local LLM worker (node-llama-cpp) on the tiny
// GGUF model the tests generate, served by a loopback server under the default model's
// declaration (the real model is never downloaded). The first click downloads the model, with the
// monitor's progress in the dock panel; the summary is the tiny model's nonsense, so the tests
// assert on what the user sees happen, never on what it says.

const ARTICLE = 'The town council approved a new cycling bridge over the river. Construction starts in spring and should take two years. The bridge will connect the old town with the university campus.';
const DEFAULT_PATH = '/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/qwen2.5-0.5b-instruct-q4_k_m.gguf';
const LLM_ENV = { CLOUD_BASE_URL: '', SYSTEM_API_KEY: '', AIPLUGS_WEBAI_MAX_OUTPUT_TOKENS: '48', AIPLUGS_WEBAI_CONTEXT_SIZE: '1024' };

// One gateway per file: its tests run in order in one worker (the config runs files in parallel).
test.describe.configure({ mode: 'serial', timeout: 180_000 });

let modelServer: ModelTestServer;
let stack: ExampleStack;

test.beforeAll(async () => {
  modelServer = await startModelServer();
  // Slow enough that the panel shows progress between 0 and 100%.
  modelServer.files.set(DEFAULT_PATH, { content: buildTinyGguf({ seed: 5 }), throttle: { chunkBytes: 32 * 1024, delayMs: 150 } });
  stack = await startExampleStack({
    routes: {
      '/hostile.css': hostileCss,
      '/news': strictPage('Bridge news', `<header><p>Site menu</p></header><article><h1>New bridge</h1><p>${ARTICLE}</p></article>`),
    },
    env: { ...LLM_ENV, AIPLUGS_MODEL_MIRROR: modelServer.origin, AIPLUGS_WEBAI_PAGE_DOWNLOADS: 'true' },
  });
});

test.afterAll(async () => {
  expect(await stack?.close()).toBe(0);
  await modelServer?.close();
});

const isSummarize = (element: DockElement) => element.kind === 'button' && element.plugin === 'page-summarizer' && element.text === 'Summarize';

async function openNews(on: Browser = stack.browser): Promise<Page> {
  const page = await on.newPage();
  await goto(page, `${stack.site.origin}/news`);
  return page;
}

test('"downloadable": the dock offers Summarize; the click downloads the model with progress, then the local model summarizes', async () => {
  const page = await openNews();
  await expect.poll(async () => (await dockElements(page)).find(isSummarize)?.title ?? null).toMatch(/downloads the local AI model first/);
  expect(modelServer.requestsFor(DEFAULT_PATH)).toHaveLength(0); // showing the button downloads nothing
  const panel = await recordDockPanel(page, 'page-summarizer');
  await clickDock(page, isSummarize);
  const seen = await panel.until((shown) => !shown.startsWith('busy'));
  const progress = seen.filter((shown) => shown.startsWith('busy Summary (downloading the model…): Downloading the local AI model'));
  expect(progress.length, seen.join('\n')).toBeGreaterThan(0);
  expect(progress.some((shown) => /: ([1-9]|[1-9]\d)%$/.test(shown)), `a percentage between 0 and 100 in ${progress.join(' | ')}`).toBe(true);
  expect(seen.at(-1)).toMatch(/^normal Summary: \S/);
  expect(modelServer.requestsFor(DEFAULT_PATH).length).toBeGreaterThanOrEqual(1);
  // The local worker answered (no cloud is configured at all).
  expect(stack.gateway.log()).not.toMatch(/cloud_not_configured/);
  await page.close();
});

test('"available": a new page summarizes at once, with no download, and the button is usable again afterwards', async () => {
  const requests = modelServer.requestsFor(DEFAULT_PATH).length;
  const page = await openNews();
  await expect.poll(async () => (await dockElements(page)).find(isSummarize)?.title ?? null).toMatch(/^Summarize this page with the local AI model \(/);
  const panel = await recordDockPanel(page, 'page-summarizer');
  await clickDock(page, isSummarize);
  const seen = await panel.until((shown) => !shown.startsWith('busy'));
  expect(seen.filter((shown) => shown.includes('downloading'))).toEqual([]);
  expect(seen.at(-1)).toMatch(/^normal Summary: \S/);
  expect(modelServer.requestsFor(DEFAULT_PATH)).toHaveLength(requests);
  await expect.poll(async () => (await dockElements(page)).find(isSummarize)?.disabled).toBe(false);
  await page.close();
});

test('"unavailable": with Web AI switched off (Debian Chromium\'s own Summarizer has no model) the plugin shows nothing', async () => {
  const off = await startExampleGateway({ env: { ...LLM_ENV, AIPLUGS_WEBAI_ENABLED: 'false' } });
  const offBrowser = await launchThroughProxy(off.ready.proxyUrl, off.ready.caSpki);
  try {
    const page = await openNews(offBrowser);
    // The plugin's script ran (it is loaded at document_idle)…
    await expect.poll(() => page.evaluate(() => performance.getEntriesByType('resource').some((entry) => entry.name.includes('/api/plugins/page-summarizer/files/content.js')))).toBe(true);
    // …and asked what this asks: the browser's own answer, once the runtime left it alone.
    const answer = await page.evaluate(() => {
      const api = (window as unknown as { Summarizer?: { availability(options: object): Promise<string> } }).Summarizer;
      return api ? api.availability({ type: 'key-points', format: 'plain-text', length: 'medium' }) : 'no Summarizer';
    });
    expect(['no Summarizer', 'unavailable']).toContain(answer);
    // The other Web AI examples hide too; echo, which needs no AI, shows (so the dock did render).
    await expect.poll(async () => (await dockSummary(page)).some((line) => line.includes('echo'))).toBe(true);
    expect(await dockSummary(page, 'page-summarizer')).toEqual([]);
  } finally {
    await offBrowser.close();
    expect(await off.close()).toBe(0);
  }
});

test('with page downloads off (the default) the click says how to download the model, and nothing is fetched', async () => {
  const strict = await startExampleGateway({ env: { ...LLM_ENV, AIPLUGS_MODEL_MIRROR: modelServer.origin } });
  const strictBrowser = await launchThroughProxy(strict.ready.proxyUrl, strict.ready.caSpki);
  const requests = modelServer.requestsFor(DEFAULT_PATH).length;
  try {
    const page = await openNews(strictBrowser);
    await expect.poll(async () => (await dockElements(page)).some(isSummarize)).toBe(true);
    const panel = await recordDockPanel(page, 'page-summarizer');
    await clickDock(page, isSummarize);
    const seen = await panel.until((shown) => !shown.startsWith('busy'));
    expect(seen.at(-1)).toMatch(/^error Summary failed: The AI model cannot be used or downloaded from this page: .*aiplugs models pull webai:llm/);
    expect(modelServer.requestsFor(DEFAULT_PATH)).toHaveLength(requests);
  } finally {
    await strictBrowser.close();
    expect(await strict.close()).toBe(0);
  }
});
