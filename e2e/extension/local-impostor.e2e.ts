/**
 * The local boundary, from the extension's side: once the gateway is gone, anything on this
 * machine (another user's program, say) can answer on a gateway port and claim to be AiPlugs. The
 * extension looks for its gateway there when the paired one does not answer; it must not hand
 * such a server a token, nor let it move the browser's proxy routing.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test } from '@playwright/test';
import getPort, { portNumbers } from 'get-port';
import { startGatewayProcess, type GatewayChild } from '../support/gateway-process.js';
import { FIXTURE_PLUGINS, launchWithExtension, openPopup, pairThroughPopup, type ExtensionBrowser } from './support/extension-browser.js';

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
  // Its health answer never ends: the extension must stop reading, not hold what it reads.
  let written = 0;
  const flood = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.write('{"status":"ok","name":"aiplugs","version":"0.1.0","pad":"');
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const pump = () => {
      while (!response.destroyed && written < 4 * 1024 ** 3) {
        written += chunk.byteLength;
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
    await expect.poll(() => written, { message: 'the impostor got to send its answer' }).toBeGreaterThan(0);
    // What the kernel buffers and the browser's network stack take ahead are a few MiB (5 measured);
    // reading on until the 1.5 s health timeout took 391 MiB, and the popup did not come up.
    expect(written).toBeLessThan(32 * 1024 * 1024);
  } finally {
    flood.closeAllConnections();
    flood.close();
  }
});
