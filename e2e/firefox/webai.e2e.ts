import { expect, test } from '@playwright/test';
import type { Page } from 'puppeteer-core';
import { launchFirefox, type FirefoxSession } from '../support/firefox.js';
import { webAiConformance, type ConformanceParams } from '../webai/conformance-checks.js';
import { WEB_AI_GLOBALS } from '../webai/native-scripts.js';
import { conformanceServerOptions, DEFAULT_MODEL_PATH, startWebAiServers, type WebAiServers } from '../webai/webai-stack.js';
import { skipUnlessInstalled, TOOLS } from '../../test/support/required-tools.js';

// The browser's built-in AI APIs in real Firefox, which ships none of them: the proxy's runtime
// must provide all seven. The same in-page checks as the Chromium runner (conformance-checks.ts),
// here over WebDriver BiDi, on an HTTPS site trusted through the profile's NSS db. The LLM is the
// tiny generated GGUF served by a loopback server under the default model's declaration.
test.describe.configure({ mode: 'serial', timeout: 240_000 });

let servers: WebAiServers;
let firefox: FirefoxSession;

test.beforeAll(async () => {
  const missing = await skipUnlessInstalled(TOOLS.firefox, TOOLS.certutil);
  test.skip(missing !== false, `${missing}`);
  servers = await startWebAiServers(conformanceServerOptions());
  firefox = await launchFirefox({ proxyUrl: servers.gateway.ready.proxyUrl, trustCaCertPath: servers.gateway.ready.caCertPath });
});

test.afterAll(async () => {
  await firefox?.close();
  await servers?.close();
});

/** A page of the test site with the runtime injected, after `preloadScript` (if any) ran. */
async function openPage(path = '/ai', preloadScript?: string): Promise<Page> {
  const page = await firefox.browser.newPage();
  if (preloadScript) await page.evaluateOnNewDocument(preloadScript);
  await page.goto(`${servers.site.origin}${path}`);
  await expect.poll(() => page.evaluate(() => typeof (window as unknown as { AiPlugs?: unknown }).AiPlugs)).toBe('object');
  return page;
}

/** One phase of the in-page checks; `gesture` clicks first (a real click: transient user activation for a download). */
async function conformance(page: Page, params: ConformanceParams, gesture = false): Promise<void> {
  if (gesture) await page.click('#go');
  const results = await page.evaluate(webAiConformance, params);
  expect(results.length).toBeGreaterThan(0);
  expect(results.filter((result) => !result.ok)).toEqual([]);
}

test('Firefox has none of the APIs itself; through the proxy the runtime defines all seven, with the specs shapes, errors, download, streaming and abort', async () => {
  const page = await openPage('/ai', `window.__natives = ${JSON.stringify(WEB_AI_GLOBALS)}.filter((name) => name in window);`);
  // Before the runtime ran (a preload script), this secure page had none of them: Firefox ships none.
  expect(await page.evaluate(() => (window as unknown as { __natives: string[] }).__natives)).toEqual([]);
  expect(await page.evaluate((names) => names.filter((name) => typeof (window as unknown as Record<string, unknown>)[name] !== 'function'), WEB_AI_GLOBALS)).toEqual([]);
  await conformance(page, { phase: 'shapes', llmDownloadable: true });

  // The spec: a create() that would download needs transient user activation.
  const noGesture = await openPage('/no-gesture');
  expect(await noGesture.evaluate(() => (window as unknown as { __createWithoutGesture: Promise<string> }).__createWithoutGesture)).toBe('NotAllowedError');
  expect(servers.modelServer.requestsFor(DEFAULT_MODEL_PATH)).toHaveLength(0);
  await noGesture.close();

  await conformance(page, { phase: 'download' }, true);
  expect(servers.modelServer.requestsFor(DEFAULT_MODEL_PATH).length).toBeGreaterThanOrEqual(1);
  await conformance(page, { phase: 'session', overQuotaChars: 70_000 }, true);
  await page.close();
});
