import { expect, test, type Browser, type Page } from '@playwright/test';
import { startModelServer, type ModelTestServer } from '../../gateway/src/models/testing/model-test-server.js';
import { buildTinyGguf } from '../../gateway/src/webai/testing/tiny-gguf.js';
import { launchThroughProxy } from '../support/chromium.js';
import { startOpenAiStub } from '../support/openai-stub.js';
import { clickDock, dockElements, recordDockPanel, type DockElement, type DockPanelRecording } from '../support/page-dock.js';
import { dockPanel, hostileCss, startExampleGateway, startExampleStack, strictPage, type ExampleStack } from './support.js';
import { goto } from '../support/navigate.js';

// Ask the Page end to end on the standard LanguageModel (Prompt API). First on the local LLM
// worker with the tiny GGUF model the tests generate (served under the default model's
// declaration; the click downloads it): the question from the dialog is answered, streamed into
// the dock panel. Then cancellation, on a gateway that sends LanguageModel to a cloud stub which
// holds its stream open after the first piece (the tiny local model finishes before any click
// could land): "Stop" ends the answer in the page, and the abort reaches the server.

const ARTICLE = 'The town council approved a new cycling bridge over the river. Construction starts in spring and should take two years.';
const QUESTION = 'When does construction start?';
const DEFAULT_PATH = '/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/qwen2.5-0.5b-instruct-q4_k_m.gguf';
const FIRST = 'Construction starts';
const SECOND = ' in spring.';

test.describe.configure({ mode: 'serial', timeout: 180_000 });

let modelServer: ModelTestServer;
let stack: ExampleStack;

test.beforeAll(async () => {
  modelServer = await startModelServer();
  modelServer.files.set(DEFAULT_PATH, { content: buildTinyGguf({ seed: 7 }) });
  stack = await startExampleStack({
    routes: {
      '/hostile.css': hostileCss,
      '/news': strictPage('Bridge news', `<article><h1>New bridge</h1><p>${ARTICLE}</p></article>`),
    },
    env: { CLOUD_BASE_URL: '', SYSTEM_API_KEY: '', AIPLUGS_MODEL_MIRROR: modelServer.origin, AIPLUGS_WEBAI_PAGE_DOWNLOADS: 'true', AIPLUGS_WEBAI_MAX_OUTPUT_TOKENS: '48', AIPLUGS_WEBAI_CONTEXT_SIZE: '1024' },
  });
});

test.afterAll(async () => {
  expect(await stack?.close()).toBe(0);
  await modelServer?.close();
});

const isAsk = (element: DockElement) => element.kind === 'button' && element.plugin === 'ask-page' && element.text === 'Ask…';
const isStop = (element: DockElement) => element.kind === 'button' && element.plugin === 'ask-page' && element.text === 'Stop';

/**
 * Opens the news page, waits for the dock's Ask button, starts recording the panel, clicks Ask and
 * answers the dialog with QUESTION.
 */
async function ask(on: Browser): Promise<{ page: Page; dialog: string; panel: DockPanelRecording }> {
  const page = await on.newPage();
  await goto(page, `${stack.site.origin}/news`);
  await expect.poll(async () => (await dockElements(page)).some(isAsk)).toBe(true);
  expect((await dockElements(page)).find(isStop)?.disabled).toBe(true); // nothing to stop yet
  const dialog = new Promise<string>((resolve) => {
    page.once('dialog', (shown) => {
      resolve(`${shown.type()}: ${shown.message()}`);
      void shown.accept(QUESTION);
    });
  });
  const panel = await recordDockPanel(page, 'ask-page');
  await clickDock(page, isAsk);
  // A hang guard, not a timing claim: a click that missed fails here and says so, not at the test's timeout.
  let timer: NodeJS.Timeout | undefined;
  const missed = new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error('Clicking "Ask…" brought no dialog in 60 s')), 60_000)));
  return { page, dialog: await Promise.race([dialog, missed]).finally(() => clearTimeout(timer)), panel };
}

test('the local model answers the question about the page, streamed into the dock panel', async () => {
  const { page, dialog, panel } = await ask(stack.browser);
  expect(dialog).toBe('prompt: Ask about this page:');
  const seen = await panel.until((shown) => !shown.startsWith('busy'));
  expect(seen.at(-1)).toMatch(new RegExp(`^normal ${QUESTION.replace('?', '\\?')}: \\S`));
  expect(seen.some((shown) => shown.startsWith(`busy ${QUESTION}`)), seen.join('\n')).toBe(true);
  expect(modelServer.requestsFor(DEFAULT_PATH).length).toBeGreaterThanOrEqual(1); // the click downloaded the model
  await expect.poll(async () => (await dockElements(page)).find(isStop)?.disabled).toBe(true);
  await expect.poll(async () => (await dockElements(page)).find(isAsk)?.disabled).toBe(false);
  await page.close();
});

test('"Stop" cancels the answer: the page keeps what came, and the abort reaches the model server', async () => {
  const stub = await startOpenAiStub(FIRST, SECOND);
  const cloud = await startExampleGateway({ env: { CLOUD_BASE_URL: stub.url, SYSTEM_API_KEY: 'sk-e2e', AIPLUGS_WEBAI_CLOUD_APIS: 'language-model' } });
  const cloudBrowser = await launchThroughProxy(cloud.ready.proxyUrl, cloud.ready.caSpki);
  try {
    // The user allows this site to use the cloud for Web AI (the dashboard's per-origin switch).
    const allowed = await fetch(`${cloud.ready.apiUrl}/api/settings`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${await cloud.token()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ webai_cloud_origins: [stack.site.origin] }),
    });
    expect(allowed.status).toBe(200);
    const { page } = await ask(cloudBrowser);
    // The first piece is on screen while the server holds back the rest: the answer streams.
    await expect.poll(() => dockPanel(page, 'ask-page')).toBe(`busy ${QUESTION}: ${FIRST}`);
    await expect.poll(async () => (await dockElements(page)).find(isStop)?.disabled).toBe(false);
    await clickDock(page, isStop);
    await expect.poll(() => dockPanel(page, 'ask-page')).toBe(`normal ${QUESTION} (stopped): ${FIRST}`);
    await expect.poll(() => stub.requests[0]?.abandoned).toBe(true);
    expect(stub.requests).toHaveLength(1);
    expect(stub.requests[0]!.body.stream).toBe(true);
    expect(stub.requests[0]!.body.messages.map((message) => message.content).join('\n')).toContain(ARTICLE);
    stub.release(); // the rest never reaches the page
    await expect.poll(async () => (await dockElements(page)).find(isAsk)?.disabled).toBe(false);
    expect(await dockPanel(page, 'ask-page')).toBe(`normal ${QUESTION} (stopped): ${FIRST}`);
  } finally {
    await cloudBrowser.close();
    expect(await cloud.close()).toBe(0);
    await stub.close();
  }
});
