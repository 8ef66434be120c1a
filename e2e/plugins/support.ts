import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, type Browser, type Page } from '@playwright/test';
import { withChromium } from '../support/chromium.js';
import { orClose } from '../support/or-close.js';
import { REPO_ROOT, startGatewayProcess, type GatewayChild, type StartOptions } from '../support/gateway-process.js';
import { dockElements, panelState } from '../support/page-dock.js';
import { respond, startTestSite, type Handler, type TestSite } from '../support/test-site.js';
import { createSseParser } from '../../gateway/src/inference/sse-parser.js';

/** Shared by the example plugins' end-to-end tests: a gateway on the repository's plugins/, strict pages, events. */

export const REPO_PLUGINS = join(REPO_ROOT, 'plugins');

/**
 * The policy every example-plugin test page is served with: no inline script or style, only
 * same-origin connections, Trusted Types enforced. What works here works on strict real sites.
 */
export const STRICT_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; require-trusted-types-for 'script'";

/**
 * A page style sheet that would wreck any UI it could reach: the plugins' UIs live in shadow
 * roots, so it must not change what the tests read and see.
 */
export const HOSTILE_CSS = 'div, span, button, p.x, pre, ol, li.x { display: none !important; } * { font-size: 2px !important; }';

/** An HTML page under STRICT_CSP that loads /hostile.css. */
export function strictPage(title: string, body: string, extraHead = ''): Handler {
  return respond(
    200,
    { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': STRICT_CSP },
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title><link rel="stylesheet" href="/hostile.css">${extraHead}</head><body>${body}</body></html>`,
  );
}

export const hostileCss: Handler = respond(200, { 'content-type': 'text/css' }, HOSTILE_CSS);

export interface ExampleGateway extends GatewayChild {
  modelsDir: string;
  events: GatewayEventRecord[];
  /** Stops the gateway and removes its models folder. */
  close(): Promise<number | null>;
}

export interface GatewayEventRecord {
  type: string;
  plugin?: string;
  state?: string;
  filename?: string;
  message?: string;
  receivedBytes?: number;
}

/**
 * The gateway as `npm start` runs it (the repository's plugins/), but on free ports, a throw-away
 * data dir and an empty models folder, so the first use of a model really provisions it. Its
 * event stream (`GET /api/events`) is recorded from the start.
 */
export async function startExampleGateway(options: StartOptions & { pluginsDir?: string } = {}): Promise<ExampleGateway> {
  const modelsDir = await mkdtemp(join(tmpdir(), 'aiplugs-e2e-models-'));
  const gateway = await startGatewayProcess({
    ...options,
    args: ['--plugins-dir', options.pluginsDir ?? REPO_PLUGINS, '--models-dir', modelsDir, ...(options.args ?? [])],
  });
  const events: GatewayEventRecord[] = [];
  const stream = new AbortController();
  const response = await fetch(`${gateway.ready.apiUrl}/api/events`, { headers: { authorization: `Bearer ${await gateway.token()}` }, signal: stream.signal });
  void (async () => {
    const decoder = new TextDecoder();
    const parser = createSseParser();
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        for (const event of parser.push(decoder.decode(chunk, { stream: true }))) events.push(JSON.parse(event.data) as GatewayEventRecord);
      }
    } catch {
      // aborted at close
    }
  })();
  return {
    ...gateway,
    modelsDir,
    events,
    close: async () => {
      stream.abort();
      const code = await gateway.stop();
      await rm(modelsDir, { recursive: true, force: true });
      return code;
    },
  };
}

export interface ExampleServers {
  site: TestSite;
  gateway: ExampleGateway;
  /** Stops the gateway (its exit code is the answer) and the site. */
  close(): Promise<number | null>;
}

export type ExampleServerOptions = StartOptions & { pluginsDir?: string; routes: Record<string, Handler> };

/** A test site serving `routes` and the example gateway (startExampleGateway), browser-independent. */
export async function startExampleServers(options: ExampleServerOptions): Promise<ExampleServers> {
  const { routes, ...gatewayOptions } = options;
  const site = await startTestSite(routes);
  const gateway = await orClose(startExampleGateway(gatewayOptions), site);
  return {
    site,
    gateway,
    close: async () => {
      const code = await gateway.close();
      await site.close();
      return code;
    },
  };
}

/** The example-plugin suites' world: startExampleServers, and Chromium through the gateway's proxy (its `close` answers the gateway's exit code). */
export type ExampleStack = ExampleServers & { browser: Browser };

export async function startExampleStack(options: ExampleServerOptions): Promise<ExampleStack> {
  return withChromium(await startExampleServers(options));
}

/** The model-progress states seen for one plugin, in order, without repeats. */
export function progressStates(gateway: ExampleGateway, plugin: string): string[] {
  return gateway.events
    .filter((event) => event.type === 'model-progress' && event.plugin === plugin)
    .map((event) => event.state ?? '')
    .filter((state, index, all) => state !== all[index - 1]);
}

/**
 * A stand-in for a model's official host, reached through AIPLUGS_MODEL_MIRROR (which moves every
 * http(s) model source onto it, path kept): serves the given files and answers 404 for the rest,
 * like a host that does not have them. Tests never touch the real internet.
 */
export async function startModelHost(files: Record<string, Buffer> = {}): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    requests.push(path);
    const body = files[path];
    if (!body) return void response.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Waits until an example plugin has started in the page: it puts its host element (`hostTag`) in
 * the document once its listeners are set. The examples run at document_idle, which may come just
 * after the load event, and a hover or selection before they listen is not seen, as with a browser
 * extension's document_idle script.
 */
export async function pluginStarted(page: Page, hostTag: string): Promise<void> {
  await expect(page.locator(hostTag)).toBeAttached();
}

/** Selects the text content of the element matching `selector`, as a user's drag would. */
export async function selectText(page: Page, selector: string): Promise<void> {
  await page.evaluate((css) => {
    const element = document.querySelector(css);
    if (!element) throw new Error(`no ${css}`);
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = document.getSelection()!;
    selection.removeAllRanges();
    selection.addRange(range);
  }, selector);
}

/** Console errors a page reports (CSP violations show up here). */
export function collectConsoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  return errors;
}

/** The plugin's `<aiplugs-…>` host is attached and its shadow UI is visible despite HOSTILE_CSS. */
export async function expectVisible(page: Page, selector: string): Promise<void> {
  await expect(page.locator(selector).first()).toBeVisible();
}

/** What one plugin's dock panel shows: `<tone> <heading>: <text>`, or null while it has none. */
export async function dockPanel(page: Page, plugin: string): Promise<string | null> {
  const panel = (await dockElements(page)).find((element) => element.kind === 'panel' && element.plugin === plugin);
  return panel ? panelState(panel) : null;
}
