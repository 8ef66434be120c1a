import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { launchThroughProxy } from '../support/chromium.js';
import { startTestSite, type TestSite } from '../support/test-site.js';
import { clickDock, dockElements, dockSummary, type DockElement } from '../support/page-dock.js';
import { hostileCss, startExampleGateway, strictPage, type ExampleGateway } from './support.js';

// Page Summarizer end to end, in cloud mode: a local stub of an OpenAI-compatible server stands in
// for vLLM/Ollama. The gateway is pointed at it with CLOUD_BASE_URL / SYSTEM_API_KEY; clicking
// "Summarize" in the AiPlugs dock shows (streams, where page sockets are bridged) the stub's answer
// in a dock panel. A second gateway with no cloud configured must not show the plugin at all.

const ARTICLE = 'The town council approved a new cycling bridge over the river. Construction starts in spring and should take two years. The bridge will connect the old town with the university campus.';
const FIRST = '- The council approved a cycling bridge.';
const SECOND = '\n- Building starts in spring and takes two years.';
const API_KEY = 'sk-e2e-test-key';

interface StubRequest {
  authorization: string | undefined;
  body: { stream?: boolean; messages: Array<{ role: string; content: string }>; max_tokens?: number };
}

/** The stub holds its stream open after the first piece until `release()`: streaming is observed, not timed. */
async function startCloudStub() {
  const requests: StubRequest[] = [];
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const server: Server = createServer(async (request: IncomingMessage, response) => {
    let text = '';
    for await (const chunk of request) text += chunk;
    if (request.method !== 'POST' || request.url !== '/v1/chat/completions') return void response.writeHead(404).end('{}');
    const body = JSON.parse(text) as StubRequest['body'];
    requests.push({ authorization: request.headers.authorization, body });
    const chunk = (content: string, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'stub-model', choices: [{ index: 0, delta: { content }, finish_reason: finish }] })}\n\n`;
    if (!body.stream) {
      response.writeHead(200, { 'content-type': 'application/json' });
      return void response.end(JSON.stringify({ id: 'c1', object: 'chat.completion', model: 'stub-model', choices: [{ index: 0, message: { role: 'assistant', content: FIRST + SECOND }, finish_reason: 'stop' }] }));
    }
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    response.write(chunk(FIRST));
    await released;
    response.write(chunk(SECOND, 'stop'));
    response.end('data: [DONE]\n\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    release: () => release(),
    close: () =>
      new Promise<void>((resolve) => {
        release();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// One gateway per file: its tests run in order in one worker (the config runs files in parallel).
test.describe.configure({ mode: 'serial' });

let site: TestSite;
let stub: Awaited<ReturnType<typeof startCloudStub>>;
let gateway: ExampleGateway;
let unconfigured: ExampleGateway;
let browser: Browser;
let plainBrowser: Browser;

test.beforeAll(async () => {
  site = await startTestSite({
    '/hostile.css': hostileCss,
    '/news': strictPage('Bridge news', `<header><p>Site menu</p></header><article><h1>New bridge</h1><p>${ARTICLE}</p></article>`),
  });
  stub = await startCloudStub();
  gateway = await startExampleGateway({ env: { CLOUD_BASE_URL: stub.url, SYSTEM_API_KEY: API_KEY } });
  unconfigured = await startExampleGateway({ env: { CLOUD_BASE_URL: '', SYSTEM_API_KEY: '' } });
  browser = await launchThroughProxy(gateway.ready.proxyUrl, gateway.ready.caSpki);
  plainBrowser = await launchThroughProxy(unconfigured.ready.proxyUrl, unconfigured.ready.caSpki);
});

const isSummarize = (element: DockElement) => element.kind === 'button' && element.plugin === 'page-summarizer' && element.text === 'Summarize';

/** The summary panel as `<tone> <heading>: <text>`, or null while there is none. */
async function summaryPanel(page: Page): Promise<string | null> {
  const panel = (await dockElements(page)).find((element) => element.kind === 'panel' && element.plugin === 'page-summarizer');
  if (!panel) return null;
  const tone = ['busy', 'error'].find((name) => panel.className.split(' ').includes(name)) ?? 'normal';
  return `${tone} ${panel.label}: ${panel.text}`;
}

test.afterAll(async () => {
  await browser?.close();
  await plainBrowser?.close();
  expect(await gateway?.close()).toBe(0);
  expect(await unconfigured?.close()).toBe(0);
  await stub?.close();
  await site?.close();
});

test('Summarize sends the page to the cloud model and shows its answer in the panel', async () => {
  stub.release(); // this test is about what goes to the server and comes back, not about streaming
  const page = await browser.newPage();
  await page.goto(`${site.origin}/news`);
  await expect.poll(async () => (await dockElements(page)).some(isSummarize)).toBe(true);
  expect(await page.evaluate(() => [...document.querySelectorAll('*')].filter((element) => element.localName.startsWith('aiplugs-page-summarizer')).length)).toBe(0);
  await clickDock(page, isSummarize);

  await expect.poll(() => summaryPanel(page)).toBe(`normal Summary: ${FIRST}${SECOND}`);
  const panel = (await dockElements(page)).find((element) => element.kind === 'panel')!;
  expect(panel.box.height).toBeGreaterThan(10);
  expect(panel.hit).toBe('aiplugs-dock'); // on screen, not covered

  // What reached the server: the manifest's system prompt, the article's text, the key from the env.
  expect(stub.requests).toHaveLength(1);
  const [request] = stub.requests;
  expect(request!.authorization).toBe(`Bearer ${API_KEY}`);
  expect(request!.body.messages[0]).toMatchObject({ role: 'system', content: expect.stringMatching(/^You summarize web pages/) });
  expect(request!.body.messages[1]!.role).toBe('user');
  expect(request!.body.messages[1]!.content).toContain(ARTICLE);
  expect(request!.body.messages[1]!.content).toContain('Title: Bridge news');
  expect(request!.body.messages[1]!.content).not.toContain('Site menu'); // the <article>, not the chrome
  expect(request!.body.max_tokens).toBe(400);
  // The key never reaches the page.
  expect(await page.content()).not.toContain(API_KEY);
});

test('the answer streams into the panel: the first piece shows while the server holds back the rest', async () => {
  // Page sockets (AiPlugs.connect → wss://<site>/__aiplugs/cap/<token>/ws) reach the connection
  // manager through the proxy's bridge rules (proxy/bridge-rules.ts).
  const held = await startCloudStub();
  const streaming = await startExampleGateway({ env: { CLOUD_BASE_URL: held.url, SYSTEM_API_KEY: API_KEY } });
  const streamingBrowser = await launchThroughProxy(streaming.ready.proxyUrl, streaming.ready.caSpki);
  try {
    const page = await streamingBrowser.newPage();
    await page.goto(`${site.origin}/news`);
    await expect.poll(async () => (await dockElements(page)).some(isSummarize)).toBe(true);
    await clickDock(page, isSummarize);
    await expect.poll(() => summaryPanel(page)).toBe(`busy Summary (streaming…): ${FIRST}`);
    held.release();
    await expect.poll(() => summaryPanel(page)).toBe(`normal Summary: ${FIRST}${SECOND}`);
    expect(held.requests[0]!.body.stream).toBe(true);
  } finally {
    await streamingBrowser.close();
    await streaming.close();
    await held.close();
  }
});

test('with no cloud server configured the plugin shows nothing in the page', async () => {
  const page = await plainBrowser.newPage();
  await page.goto(`${site.origin}/news`);
  // The page runtime is there and the plugin was injected, but it knows the gateway cannot serve it.
  await expect.poll(() => page.evaluate(() => (window as unknown as { AiPlugs?: { plugins: string[] } }).AiPlugs?.plugins ?? [])).toContain('page-summarizer');
  expect(await page.evaluate(() => (window as unknown as { AiPlugs: { isAvailable(id: string): boolean } }).AiPlugs.isAvailable('page-summarizer'))).toBe(false);
  // echo (also in the example set) has its badge in the dock by now; the summarizer has nothing there.
  await expect.poll(() => dockSummary(page, 'echo')).toEqual([expect.stringMatching(/^badge echo: /)]);
  expect(await dockSummary(page, 'page-summarizer')).toEqual([]);
});
