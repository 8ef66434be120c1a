import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { connect as connectTcp } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { generateCACertificate, getLocal, type Mockttp } from 'mockttp';
import { WebSocket } from 'ws';
import type { InferenceRouter } from '../inference/inference-router.js';
import type { PluginManifest } from '../plugins/manifest-schema.js';
import type { LoadedPlugin, PluginRegistry } from '../plugins/plugin-registry.js';
import { recordingLogger, waitFor } from '../workers/test-support.js';
import { createConnectionManager } from './connection-manager.js';
import { bridgeWebSocketRule } from './websocket-bridge.js';
import { attachWebSocketEndpoint } from './websocket-endpoint.js';

const manifest: PluginManifest = { manifest_version: 3, id: 'echo', name: 'Echo', version: '1', description: '', content_scripts: [], inference: { default_mode: 'local', models: [], env: [] } };
const echo: LoadedPlugin = { id: 'echo', dir: '/echo', status: 'enabled', manifest, contentScripts: [], revision: 'r' };
const registry: PluginRegistry = { list: () => [echo], get: (id) => (id === 'echo' ? echo : undefined), matching: () => [], reload: async () => [echo], onChange: () => () => undefined };
const router: InferenceRouter = { infer: async (pluginId, request) => ({ pluginId, payload: request.payload }) };
const { logger } = recordingLogger();
const connections = createConnectionManager({ router, logger });
const api = createServer((_request, response) => response.end());
let proxy: Mockttp;
let pageUrls: string[] = [];

before(async () => {
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  const apiPort = (api.address() as AddressInfo).port;
  attachWebSocketEndpoint(api, {
    connections,
    token: 'unused-token-unused-token-unused',
    registry,
    activePlugins: (url) => {
      pageUrls.push(url);
      return /^https?:\/\/shop\.test\//.test(url) ? [{ plugin: echo, scripts: [] }] : [];
    },
    apiOrigins: () => [`http://127.0.0.1:${apiPort}`],
    logger,
  });
  // HTTPS-capable, like the gateway's proxy: pages on https sites open wss:// sockets.
  proxy = getLocal({ https: await generateCACertificate() });
  await proxy.start();
  await bridgeWebSocketRule(proxy, { apiPort });
  // Added after the bridge rule on purpose: the bridge must still win (it has a higher priority).
  await proxy.forAnyWebSocket().always().thenRejectConnection(502, 'passthrough would go to the site');
});
after(async () => {
  await connections.close();
  await proxy.stop();
  api.closeAllConnections();
  api.close();
});

/**
 * A page's socket as the proxy sees it: sent to the proxy port with the site's Host and the page's
 * Origin (what a browser does for ws:// through a proxy, minus the CONNECT for wss://).
 */
function pageSocket(site: string, query: string, origin = `http://${site}`) {
  const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/__aiplugs/ws?${query}`, { headers: { host: site }, origin });
  ws.on('error', () => undefined);
  return ws;
}

test('wss://site/__aiplugs/ws reaches the connection manager through the proxy, as that page', async () => {
  pageUrls = [];
  const ws = pageSocket('shop.test', `plugin_id=echo&client_id=tab-1&page_url=${encodeURIComponent('http://shop.test/cart?x=1')}`);
  const [hello] = await once(ws, 'message');
  assert.equal(JSON.parse(String(hello)).type, 'hello');
  assert.deepEqual(pageUrls, ['http://shop.test/cart?x=1']);
  ws.send(JSON.stringify({ type: 'infer', id: 1, payload: { q: 1 } }));
  const [answer] = await once(ws, 'message');
  assert.deepEqual(JSON.parse(String(answer)), { type: 'result', id: 1, result: { pluginId: 'echo', payload: { q: 1 } }, mode: null });
  ws.close();
  await waitFor(() => connections.size() === 0, 'the socket to close');
});

test('a page of another site cannot borrow the bridge (4403), and plugins not on the page are refused', async () => {
  const crossSite = pageSocket('shop.test', 'plugin_id=echo&client_id=tab-2', 'http://evil.test');
  const [code] = await once(crossSite, 'close');
  assert.equal(code, 4403);
  const elsewhere = pageSocket('blog.test', 'plugin_id=echo&client_id=tab-3');
  const [otherCode, reason] = await once(elsewhere, 'close');
  assert.equal(otherCode, 4403);
  assert.match(String(reason), /not active on this page/);
});

test('other WebSockets are not touched by the bridge rule', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/socket.io/`, { headers: { host: 'shop.test' } });
  ws.on('error', () => undefined);
  const [, response] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }];
  assert.equal(response.statusCode, 502);
  ws.terminate();
});

test('wss:// from an https page, tunnelled through the proxy with CONNECT, is bridged too', async () => {
  const tunnel = connectTcp(proxy.port, '127.0.0.1');
  await once(tunnel, 'connect');
  tunnel.write('CONNECT shop.test:443 HTTP/1.1\r\nHost: shop.test:443\r\n\r\n');
  const [reply] = (await once(tunnel, 'data')) as [Buffer];
  assert.match(reply.toString(), /^HTTP\/1\.1 200/);
  // The test trusts the proxy's throw-away CA implicitly; a browser trusts the gateway's CA.
  const secure = connectTls({ socket: tunnel, servername: 'shop.test', rejectUnauthorized: false });
  await once(secure, 'secureConnect');
  const ws = new WebSocket('wss://shop.test/__aiplugs/ws?plugin_id=echo&client_id=tls-1', { origin: 'https://shop.test', createConnection: () => secure });
  ws.on('error', () => undefined);
  pageUrls = [];
  const [hello] = await once(ws, 'message');
  assert.equal(JSON.parse(String(hello)).type, 'hello');
  assert.deepEqual(pageUrls, ['https://shop.test/']);
  ws.close();
});
