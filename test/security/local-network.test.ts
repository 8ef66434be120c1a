/**
 * Security checklist 3 — the hostile web against the user's own network. Chromium refuses a public
 * page's requests to loopback and local addresses (Local Network Access), but through a proxy it
 * cannot tell where a request goes: the proxy resolves the name. Through the gateway a public page
 * read a service on 127.0.0.1 with CORS (helper-79; checked by hand in Chromium 156: direct,
 * "Failed to fetch" and nothing reached the service; through the proxy, the page read its answer).
 * Here 127.0.0.2 plays the public site and 127.0.0.1 the user's local service; the requests carry
 * the headers Chromium sends for each kind.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { generateCACertificate } from 'mockttp';
import { WebSocketServer } from 'ws';
import { createCapabilityIssuer } from '../../gateway/src/bridge/page-capability.js';
import type { CertificateAuthority } from '../../gateway/src/ca/certificate-authority.js';
import { createProxy, type GatewayProxy } from '../../gateway/src/proxy/create-proxy.js';
import { addressSpaceOf } from '../../gateway/src/proxy/local-network-access.js';
import { silentLogger } from '../support/silent-logger.js';

let proxy: GatewayProxy;
let publicSite: Server;
let localService: Server;
let sockets: WebSocketServer;
const reached: string[] = [];
let publicOrigin: string;
let service: string;

before(async () => {
  publicSite = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>public</title>'));
  publicSite.listen(0, '127.0.0.2');
  localService = createServer((request, response) => {
    reached.push(`${request.method} ${request.url}`);
    response.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' }).end('{"secret":"local"}');
  });
  localService.listen(0, '127.0.0.1');
  await Promise.all([once(publicSite, 'listening'), once(localService, 'listening')]);
  sockets = new WebSocketServer({ server: localService });
  sockets.on('connection', (socket) => {
    reached.push('websocket');
    socket.send('local secret');
  });
  publicOrigin = `http://127.0.0.2:${(publicSite.address() as AddressInfo).port}`;
  service = `127.0.0.1:${(localService.address() as AddressInfo).port}`;
  proxy = await createProxy({
    port: 0,
    ca: (await generateCACertificate()) as unknown as CertificateAuthority,
    activePlugins: () => [],
    capabilities: createCapabilityIssuer(),
    bridgeSecret: 'local-network-test-secret-0123',
    logger: silentLogger,
    version: '0.0.0',
    apiPort: () => 9,
    cspMode: 'nonce',
    trustedTestHosts: [],
    localNetwork: { addressSpace: (address) => (address === '127.0.0.2' ? 'public' : addressSpaceOf(address)) },
  });
});
after(async () => {
  await proxy?.stop();
  sockets?.close();
  for (const server of [publicSite, localService]) {
    server?.closeAllConnections();
    server?.close();
  }
});

function viaProxy(url: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const call = httpRequest({ host: '127.0.0.1', port: proxy.port, method, path: url, headers: { host: new URL(url).host, ...headers } }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    call.on('error', reject);
    call.end();
  });
}

/** A WebSocket upgrade from a page of `origin`, as a browser asks an HTTP proxy for one: the absolute URL in the request line. */
function upgradeVia(origin: string): Promise<string> {
  return new Promise((resolve) => {
    const raw = httpRequest({ host: '127.0.0.1', port: proxy.port, path: `http://${service}/ws`, headers: { host: service, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', origin } });
    raw.on('upgrade', (_response, socket) => {
      socket.destroy();
      resolve('upgraded');
    });
    raw.on('response', (response) => resolve(String(response.statusCode)));
    raw.on('error', (error) => resolve(`error ${error.message}`));
    raw.end();
  });
}

describe('Local Network Access through the proxy', () => {
  it("a public page's fetch, form post and image never reach the user's local service", async () => {
    // The page itself loads through the proxy: the proxy learns its site's address.
    assert.equal((await viaProxy(`${publicOrigin}/`, { accept: 'text/html', 'upgrade-insecure-requests': '1' })).status, 200);
    reached.length = 0;
    const cors = await viaProxy(`http://${service}/api/tags`, { accept: '*/*', origin: publicOrigin, referer: `${publicOrigin}/` });
    assert.equal(cors.status, 403, cors.body);
    assert.match(cors.body, /a page of 127\.0\.0\.2 may not reach 127\.0\.0\.1:\d+, a loopback address/);
    assert.doesNotMatch(cors.body, /secret/);
    assert.equal((await viaProxy(`http://${service}/api/pull`, { origin: publicOrigin, 'content-type': 'text/plain' }, 'POST')).status, 403);
    assert.equal((await viaProxy(`http://${service}/avatar.png`, { accept: 'image/*', referer: `${publicOrigin}/` })).status, 403);
    // A sandboxed frame of the page (Origin: null): its CORS read too.
    assert.equal((await viaProxy(`http://${service}/x`, { accept: '*/*', origin: 'null', 'sec-fetch-mode': 'cors' })).status, 403);
    assert.deepEqual(reached, []);
  });

  it('a public page may not open a WebSocket to it either', async () => {
    reached.length = 0;
    // As a browser asks an HTTP proxy for a plain WebSocket: the absolute URL in the request line.
    assert.equal(await upgradeVia(publicOrigin), '403');
    assert.deepEqual(reached, []);
  });

  it('the same requests from a page of this machine, a navigation, and a local program still reach it', async () => {
    reached.length = 0;
    const local = `http://${service}`;
    assert.equal((await viaProxy(`${local}/api/tags`, { accept: '*/*', origin: 'http://127.0.0.1:3000' })).body, '{"secret":"local"}');
    assert.equal((await viaProxy(`${local}/`, { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', referer: `${publicOrigin}/` })).status, 200);
    assert.equal((await viaProxy(`${local}/status`, { 'user-agent': 'curl/8.5' })).status, 200);
    assert.equal(await upgradeVia('http://127.0.0.1:3000'), 'upgraded');
    assert.deepEqual(reached, ['GET /api/tags', 'GET /', 'GET /status', 'websocket']);
  });
});
