import { expect, test } from '@playwright/test';
import { runCli } from '../cli/run-cli.js';
import { respond } from '../support/test-site.js';
import { REMOVE_NATIVE } from './native-scripts.js';
import { DEFAULT_MODEL_PATH, gatewaySettings, startWebAiStack, type WebAiStack } from './webai-stack.js';
import { goto } from '../support/navigate.js';

// Web AI as shipped (webai.enabled on, webai.page_downloads off): a page cannot start the model
// download even with a user gesture; the user starts it from the dashboard's "Built-in AI" card,
// which also edits the sites allowed to use cloud AI; afterwards pages use the model.

test.describe.configure({ mode: 'serial', timeout: 180_000 });

let stack: WebAiStack;

test.beforeAll(async () => {
  stack = await startWebAiStack({
    routes: { '/ai': respond(200, { 'content-type': 'text/html' }, '<!doctype html><title>Web AI</title><button id="go">go</button>') },
    throttle: { chunkBytes: 64 * 1024, delayMs: 30 },
    env: { AIPLUGS_WEBAI_MAX_OUTPUT_TOKENS: '16' },
  });
});

test.afterAll(async () => stack?.close());

async function webAiPage() {
  const page = await stack.browser.newPage();
  await page.addInitScript(REMOVE_NATIVE);
  await goto(page, `${stack.site.origin}/ai`);
  await expect.poll(() => page.evaluate(() => typeof (window as unknown as { LanguageModel?: unknown }).LanguageModel)).toBe('function');
  return page;
}

test('by default a page cannot start the model download, even after a click', async () => {
  const page = await webAiPage();
  expect(await page.evaluate(() => (window as unknown as { LanguageModel: { availability(): Promise<string> } }).LanguageModel.availability())).toBe('downloadable');
  await page.locator('#go').click();
  const outcome = await page.evaluate(() =>
    (window as unknown as { LanguageModel: { create(): Promise<{ destroy(): void }> } }).LanguageModel.create().then(
      () => 'created',
      (error: Error) => error.name,
    ),
  );
  expect(outcome).toBe('NotAllowedError');
  expect(stack.modelServer.requestsFor(DEFAULT_MODEL_PATH)).toHaveLength(0);
  await page.close();
});

test('the dashboard card: cloud-allowed sites, and the user downloads the model; then pages use it', async () => {
  const dashboard = await stack.browser.newPage();
  const link = (await runCli(['dashboard', '--data-dir', stack.gateway.dataDir])).stdout.trim();
  await goto(dashboard, link);
  await expect(dashboard.locator('body')).toHaveAttribute('data-ready', 'true');
  const card = dashboard.locator('#webai-card');
  await expect(card.locator('tr', { hasText: 'language-model' })).toContainText('downloadable');
  await expect(card.locator('#webai-summary')).toContainText('Nothing goes to the cloud');

  const settings = () => gatewaySettings(stack.gateway);
  await card.locator('#webai-origin').fill('https://news.example');
  await card.getByRole('button', { name: 'Allow cloud AI' }).click();
  await expect(card.locator('#webai-cloud-origins')).toContainText('https://news.example');
  expect((await settings()).webai_cloud_origins).toEqual(['https://news.example']);
  await card.locator('#webai-origin').fill('not an origin');
  await card.getByRole('button', { name: 'Allow cloud AI' }).click();
  await expect(card.locator('#webai-error')).toBeVisible();
  expect((await settings()).webai_cloud_origins).toEqual(['https://news.example']);
  await card.getByRole('button', { name: 'Remove https://news.example' }).click();
  await expect(card.locator('#webai-cloud-origins')).toContainText('none');
  expect((await settings()).webai_cloud_origins).toEqual([]);

  await card.getByRole('button', { name: 'Download the model' }).click();
  await expect(card.locator('tr', { hasText: 'language-model' })).toContainText('available', { timeout: 60_000 });
  await expect(card.locator('#webai-progress')).toHaveText('ready');
  expect(stack.modelServer.requestsFor(DEFAULT_MODEL_PATH)).toHaveLength(1);

  // No gesture needed any more: the model is there.
  const page = await webAiPage();
  const answer = await page.evaluate(async () => {
    const session = await (window as unknown as { LanguageModel: { create(): Promise<{ prompt(text: string): Promise<string>; destroy(): void }> } }).LanguageModel.create();
    const text = await session.prompt('Hello?');
    session.destroy();
    return typeof text;
  });
  expect(answer).toBe('string');
  await page.close();
  await dashboard.close();
});
