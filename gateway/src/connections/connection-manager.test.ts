import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { WebSocket, type ClientOptions } from 'ws';
import { ApiError } from '../api/api-error.js';
import type { InferenceRouter, InferRequest } from '../inference/inference-router.js';
import type { PluginManifest } from '../plugins/manifest-schema.js';
import type { LoadedPlugin, PluginRecord, PluginRegistry } from '../plugins/plugin-registry.js';
import { recordingLogger, waitFor } from '../workers/test-support.js';
import { createConnectionManager, type ConnectionManager, type ConnectionManagerOptions } from './connection-manager.js';
import { createCapabilityIssuer } from '../bridge/page-capability.js';
import { attachWebSocketEndpoint, type WebSocketEndpointOptions } from './websocket-endpoint.js';

const TOKEN = 'test-token-0123456789abcdefghijklmnop';
const SECRET = 'test-bridge-secret-0123456789';
const capabilities = createCapabilityIssuer();

function pluginRecord(id: string): LoadedPlugin {
  const manifest: PluginManifest = { manifest_version: 3, id, name: id, version: '1', description: '', content_scripts: [], inference: { default_mode: 'local', models: [], env: [] } };
  return { id, dir: `/${id}`, status: 'enabled', manifest, contentScripts: [], revision: 'r', inlineScripts: new Map() };
}
const records: PluginRecord[] = [pluginRecord('echo'), pluginRecord('other'), { id: 'broken', dir: '/broken', status: 'error', errors: ['manifest.json: name is missing'] }];
const registry: PluginRegistry = { list: () => records, get: (id) => records.find((r) => r.id === id), matching: () => [], reload: async () => records, onChange: () => () => undefined };
/** Plugins are active on every site the tests use, unless switched off on "paused.test" (or on a site a test adds). */
const switchedOff = new Set(['http://paused.test']);
const activeOnSite = (origin: string) => !switchedOff.has(origin);

/** A router double: echoes, streams, waits for cancellation, or floods, as the payload says. */
let running = 0;
let maxRunning = 0;
const calls: InferRequest[] = [];
const router: InferenceRouter = {
  async infer(pluginId, request) {
    calls.push(request);
    running += 1;
    maxRunning = Math.max(maxRunning, running);
    try {
      const payload = request.payload as { op?: string; n?: number } | null;
      if (payload?.op === 'stream') {
        request.onChunk?.('a');
        request.onChunk?.('b');
      }
      if (payload?.op === 'flood') for (let i = 0; i < (payload.n ?? 100); i += 1) request.onChunk?.('x'.repeat(16 * 1024));
      if (payload?.op === 'wait') {
        await new Promise((resolve) => {
          if (request.signal?.aborted) resolve(null);
          request.signal?.addEventListener('abort', resolve);
        });
        throw new ApiError(499 as 400, 'cancelled', 'cancelled');
      }
      if (payload?.op === 'hold') await new Promise((resolve) => setTimeout(resolve, payload.n ?? 100));
      if (payload?.op === 'fail') throw new ApiError(503, 'worker_busy', 'busy, try later');
      const deep = () => JSON.parse(`${'['.repeat(10_000)}${']'.repeat(10_000)}`) as unknown;
      if (payload?.op === 'deep') return deep();
      if (payload?.op === 'deep-chunk') {
        request.onChunk?.(deep());
        request.onChunk?.('after');
        return 'done';
      }
      return { plugin: pluginId, payload };
    } finally {
      running -= 1;
    }
  },
};

let port: number;
let connections: ConnectionManager;
const managers: ConnectionManager[] = [];
const servers: Array<{ httpServer: Server; attached: { close(): void } }> = [];

async function listen(overrides: Partial<ConnectionManagerOptions> = {}, endpoint: Partial<WebSocketEndpointOptions> = {}) {
  const { logger } = recordingLogger();
  const manager = createConnectionManager({ router, logger, activeOnSite, ...overrides });
  managers.push(manager);
  const httpServer = createServer((_request, response) => response.end());
  const attached = attachWebSocketEndpoint(httpServer, { connections: manager, token: TOKEN, registry, activeOnSite, capabilities, apiOrigins: () => [`http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`], logger, bridgeSecret: SECRET, ...endpoint });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  servers.push({ httpServer, attached });
  return { manager, httpServer, attached, port: (httpServer.address() as AddressInfo).port };
}

before(async () => {
  ({ manager: connections, port } = await listen());
});
after(async () => {
  await Promise.all(managers.map((manager) => manager.close()));
  for (const { httpServer, attached } of servers) {
    attached.close();
    httpServer.closeAllConnections();
    httpServer.close();
  }
});

type Message = { type: string; id?: unknown; data?: unknown; result?: unknown; error?: { code: string; message: string } };

/** A client that queues what it receives so tests can await "the next message". */
function client(path: string, options: ClientOptions = {}, at = port) {
  const ws = new WebSocket(`ws://127.0.0.1:${at}${path}`, options);
  const inbox: Message[] = [];
  const waiters: Array<(message: Message) => void> = [];
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as Message;
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else inbox.push(message);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  const next = () => new Promise<Message>((resolve) => (inbox.length > 0 ? resolve(inbox.shift()!) : waiters.push(resolve)));
  const send = (message: unknown) => ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  return { ws, next, send, closed };
}

/** The HTTP status of a refused handshake. */
async function refusedWith(path: string, options: ClientOptions = {}): Promise<number> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, options);
  ws.on('error', () => undefined);
  const [, response] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }];
  ws.terminate();
  return response.statusCode;
}

const direct = (plugin = 'echo', clientId = 'c1') => `/ws?plugin_id=${plugin}&client_id=${clientId}&token=${TOKEN}`;

test('direct sockets need the token, this host, a trusted origin and an existing plugin', async () => {
  assert.equal(await refusedWith('/ws?plugin_id=echo&client_id=c1'), 401);
  assert.equal(await refusedWith('/ws?plugin_id=echo&client_id=c1&token=wrong'), 401);
  assert.equal(await refusedWith(direct(), { headers: { host: 'evil.example' } }), 403);
  assert.equal(await refusedWith(direct(), { origin: 'https://evil.example' }), 403);
  assert.equal(await refusedWith(direct('nope')), 404);
  // Disabled, as the HTTP routes say (409 plugin_disabled), not missing (helper-77).
  assert.equal(await refusedWith(direct('broken')), 409);
  assert.equal(await refusedWith('/ws?plugin_id=echo&token=' + TOKEN), 400);
  const viaHeader = client('/ws?plugin_id=echo&client_id=h1', { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.deepEqual(await viaHeader.next(), { type: 'hello', plugin_id: 'echo', client_id: 'h1', heartbeat_ms: 30_000 });
  viaHeader.ws.close();
});

test('infer over the socket: chunks then the result; errors and bad messages are answered, not fatal', async () => {
  const page = client(direct('echo', 'infer-1'));
  assert.equal((await page.next()).type, 'hello');
  page.send({ type: 'infer', id: 1, payload: { op: 'stream' } });
  assert.deepEqual(await page.next(), { type: 'chunk', id: 1, data: 'a' });
  assert.deepEqual(await page.next(), { type: 'chunk', id: 1, data: 'b' });
  assert.deepEqual(await page.next(), { type: 'result', id: 1, result: { plugin: 'echo', payload: { op: 'stream' } }, mode: null });
  page.send({ type: 'infer', id: 'x', payload: { op: 'fail' } });
  assert.deepEqual(await page.next(), { type: 'error', id: 'x', error: { code: 'worker_busy', message: 'busy, try later' } });
  page.send('not json');
  assert.equal((await page.next()).error?.code, 'invalid_message');
  page.send({ type: 'infer' });
  assert.match((await page.next()).error?.message ?? '', /id/);
  page.send({ type: 'ping', t: 7 });
  assert.deepEqual(await page.next(), { type: 'pong', t: 7 });
  page.ws.close();
});

test('an answer JSON cannot write (nested 10,000 deep) ends its call with an error; the socket and the process go on', async () => {
  const page = client(direct('echo', 'deep-1'));
  assert.equal((await page.next()).type, 'hello');
  page.send({ type: 'infer', id: 'd', payload: { op: 'deep' } });
  assert.deepEqual(await page.next(), { type: 'error', id: 'd', error: { code: 'backend_error', message: 'the answer cannot be written as JSON' } });
  // A streamed chunk that cannot be written ends its call: no later chunk, no result.
  page.send({ type: 'infer', id: 'c', payload: { op: 'deep-chunk' } });
  assert.deepEqual(await page.next(), { type: 'error', id: 'c', error: { code: 'backend_error', message: 'the answer cannot be written as JSON' } });
  page.send({ type: 'ping', t: 8 });
  assert.deepEqual(await page.next(), { type: 'pong', t: 8 });
  page.ws.close();
});

test('cancel aborts the call', async () => {
  const page = client(direct('echo', 'cancel-1'));
  await page.next();
  page.send({ type: 'infer', id: 9, payload: { op: 'wait' } });
  const call = await waitFor(() => calls.find((request) => (request.payload as { op?: string })?.op === 'wait' && !request.signal?.aborted), 'the call to start');
  page.send({ type: 'cancel', id: 9 });
  await waitFor(() => call.signal?.aborted, 'the call to be aborted');
  page.ws.close();
});

test('a new connection with the same plugin + client replaces the old one (close 4000)', async () => {
  const first = client(direct('echo', 'same'));
  await first.next();
  const second = client(direct('echo', 'same'));
  await second.next();
  assert.deepEqual(await first.closed, { code: 4000, reason: 'replaced by a newer connection of this client' });
  second.send({ type: 'ping' });
  assert.equal((await second.next()).type, 'pong');
  const otherClient = client(direct('echo', 'different'));
  await otherClient.next();
  assert.equal(connections.size(), 2);
  assert.equal(connections.send('echo', 'same', { hi: 1 }), true);
  assert.deepEqual(await second.next(), { type: 'push', data: { hi: 1 } });
  assert.equal(connections.broadcast('echo', 'all'), 2);
  second.ws.close();
  otherClient.ws.close();
  await waitFor(() => connections.size() === 0, 'both sockets to close');
});

test('a peer that stops answering pings is dropped', async () => {
  const { manager, port: fastPort } = await listen({ heartbeatMs: 250 });
  const deaf = client(direct('echo', 'deaf'), { autoPong: false }, fastPort);
  await deaf.next();
  const healthy = client(direct('echo', 'healthy'), {}, fastPort);
  await healthy.next();
  assert.equal((await deaf.closed).code, 1006);
  await waitFor(() => manager.size() === 1, 'the dead peer to be forgotten');
  await new Promise((resolve) => setTimeout(resolve, 600)); // two more heartbeats
  assert.equal(manager.size(), 1, 'the peer that answers pings stays');
  healthy.ws.close();
});

test('a page held unread while its calls run is not taken for a dead peer', async () => {
  // Over maxInFlight the socket is not read, so its pongs wait unread too: for 5 heartbeats here.
  const { port: busyPort } = await listen({ heartbeatMs: 250, maxInFlight: 1 });
  const page = client(direct('echo', 'busy'), {}, busyPort);
  await page.next();
  const answer = () => Promise.race([page.next(), page.closed.then(({ code }): Message => ({ type: `closed ${code}` }))]);
  page.send({ type: 'infer', id: 1, payload: { op: 'hold', n: 1300 }, stream: false });
  page.send({ type: 'infer', id: 2, payload: { op: 'hold', n: 10 }, stream: false });
  assert.deepEqual([await answer(), await answer()].map((message) => message.id ?? message.type), [1, 2]);
  await new Promise((resolve) => setTimeout(resolve, 600)); // read again: the heartbeat goes on as before
  page.send({ type: 'ping', t: 1 });
  assert.deepEqual(await page.next(), { type: 'pong', t: 1 });
  page.ws.close();
});

test('backpressure: a page that does not read is closed (1013); a page that floods calls is read slower', async () => {
  const { manager, port: tightPort } = await listen({ maxBufferedBytes: 64 * 1024, maxInFlight: 2 });
  const slow = client(direct('echo', 'slow'), {}, tightPort);
  await slow.next();
  slow.ws.pause(); // stops reading: the kernel buffers fill, then the gateway's queue grows
  slow.send({ type: 'infer', id: 1, payload: { op: 'flood', n: 1000 } });
  await waitFor(() => manager.size() === 0, 'the gateway to drop the page that does not read');
  slow.ws.resume();
  assert.ok([1013, 1006].includes((await slow.closed).code));

  maxRunning = 0;
  const eager = client(direct('echo', 'eager'), {}, tightPort);
  await eager.next();
  for (let id = 0; id < 6; id += 1) eager.send({ type: 'infer', id, payload: { op: 'hold' } });
  const results = [];
  for (let id = 0; id < 6; id += 1) results.push(await eager.next());
  assert.ok(results.every((message) => message.type === 'result'));
  assert.ok(maxRunning <= 2, `at most 2 calls ran at once (saw ${maxRunning})`);
  eager.ws.close();
});

/** The API-side path of a page socket as the proxy forwards it, under a capability for `plugins`. */
function bridgedSocket(origin: string, plugins: string[], query: string, secret = SECRET, session = capabilities.newSession()) {
  const token = capabilities.mint({ origin, plugins, session });
  return `/__aiplugs-bridge/${secret}/${origin.split(':')[0]}/cap/${token}/ws?${query}`;
}

test('page sockets come only through the proxy bridge, with a capability for that site and plugin', async () => {
  const site = { origin: 'http://site.test', headers: { host: 'site.test' } };
  const page = client(bridgedSocket('http://site.test', ['echo'], 'plugin_id=echo&client_id=p1'), site);
  assert.equal((await page.next()).type, 'hello');
  page.ws.close();
  // Without the proxy's secret there is no bridge.
  assert.equal(await refusedWith(bridgedSocket('http://site.test', ['echo'], 'plugin_id=echo&client_id=p1', 'guessed-secret-0123456789'), site), 403);
  // A capability minted for another site, or opened from another site's page: refused on the head.
  assert.equal(await refusedWith(bridgedSocket('http://elsewhere.test', ['echo'], 'plugin_id=echo&client_id=p2'), site), 403);
  assert.equal(await refusedWith(bridgedSocket('http://site.test', ['echo'], 'plugin_id=echo&client_id=p3'), { origin: 'https://evil.example', headers: { host: 'site.test' } }), 403);
  // A plugin the capability does not list, or one switched off on the site since: 4403, do not retry.
  const wrongPlugin = client(bridgedSocket('http://site.test', ['echo'], 'plugin_id=other&client_id=p4'), site);
  assert.equal((await wrongPlugin.closed).code, 4403);
  const paused = client(bridgedSocket('http://paused.test', ['echo'], 'plugin_id=echo&client_id=p5'), { origin: 'http://paused.test', headers: { host: 'paused.test' } });
  assert.equal((await paused.closed).code, 4403);
});

test('a plugin switched off on a site after its page opened a socket takes no call and sends no push there', async () => {
  const site = { origin: 'http://switch.test', headers: { host: 'switch.test' } };
  const page = client(bridgedSocket('http://switch.test', ['echo'], 'plugin_id=echo&client_id=s1'), site);
  assert.equal((await page.next()).type, 'hello');
  assert.equal(connections.send('echo', 's1', 'before'), true);
  assert.deepEqual(await page.next(), { type: 'push', data: 'before' });
  switchedOff.add('http://switch.test');
  try {
    assert.equal(connections.send('echo', 's1', 'after'), false);
    assert.equal(connections.broadcast('echo', 'after'), 0);
    page.send({ type: 'infer', id: 1, payload: 'x' });
    assert.deepEqual(await page.next(), { type: 'error', id: 1, error: { code: 'plugin_not_injected', message: 'This plugin is not active on this page' } });
  } finally {
    switchedOff.delete('http://switch.test');
    page.ws.close();
  }
});

test("a reconnect replaces its own zombie, but never another page load's socket with the same id", async () => {
  const site = { origin: 'http://site.test', headers: { host: 'site.test' } };
  const session = capabilities.newSession();
  const first = client(bridgedSocket('http://site.test', ['echo'], 'plugin_id=echo&client_id=same', SECRET, session), site);
  await first.next();
  // Another tab (another capability session) copies the id: both stay open.
  const otherTab = client(bridgedSocket('http://site.test', ['echo'], 'plugin_id=echo&client_id=same'), site);
  await otherTab.next();
  // The first page reconnects (same session, same id): its old socket is the zombie.
  const again = client(bridgedSocket('http://site.test', ['echo'], 'plugin_id=echo&client_id=same', SECRET, session), site);
  await again.next();
  assert.equal((await first.closed).code, 4000);
  otherTab.send({ type: 'infer', id: 1, payload: 'still here' });
  assert.equal((await otherTab.next()).type, 'result');
  otherTab.ws.close();
  again.ws.close();
});

test('page sockets are limited per page load, per site and over all pages; a closed or failed one frees its place', async () => {
  const { port: limitedPort } = await listen({}, { pageSocketLimits: { perPage: 2, perSite: 3, allPages: 4 } });
  const on = (origin: string, session = capabilities.newSession()) => (clientId: string) =>
    client(bridgedSocket(origin, ['echo'], `plugin_id=echo&client_id=${clientId}`, SECRET, session), { origin, headers: { host: new URL(origin).host } }, limitedPort);
  const opened = async (socket: ReturnType<typeof client>) => {
    const first = await Promise.race([socket.next(), socket.closed]);
    return 'type' in first && first.type === 'hello';
  };
  const refused = async (socket: ReturnType<typeof client>) => (await socket.closed).code;

  const pageA = on('http://site.test');
  const [a1, a2] = [pageA('a1'), pageA('a2')];
  assert.ok((await opened(a1)) && (await opened(a2)));
  assert.equal(await refused(pageA('a3')), 1013, 'a third socket of one page load');
  // A handshake that fails after its place was taken (a version ws does not speak) gives it back,
  // as a closed socket does: had it kept it, the site's third socket below would be refused.
  const badHandshake = connect(limitedPort, '127.0.0.1');
  badHandshake.end(`GET ${bridgedSocket('http://site.test', ['echo'], 'plugin_id=echo&client_id=bad')} HTTP/1.1\r\nhost: site.test\r\norigin: http://site.test\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 99\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
  const [answer] = (await once(badHandshake, 'data')) as [Buffer];
  assert.match(String(answer), /^HTTP\/1\.1 400 /);
  await once(badHandshake, 'close'); // the server closed it, and with that gave the place back
  const pageB = on('http://site.test');
  const b1 = pageB('b1');
  assert.ok(await opened(b1));
  assert.equal(await refused(pageB('b2')), 1013, 'a fourth socket of one site');
  const elsewhere = on('http://other.test')('o1');
  assert.ok(await opened(elsewhere));
  assert.equal(await refused(on('http://third.test')('t1')), 1013, 'a fifth socket of any page');
  // The token's holder is not a page: no page limit applies.
  const user = client(direct('echo', 'user-over-limits'), {}, limitedPort);
  assert.ok(await opened(user));

  a2.ws.close();
  await a2.closed;
  const again = pageA('a4');
  assert.ok(await opened(again), 'a closed socket frees its place for the same page');
  for (const socket of [a1, again, b1, elsewhere, user]) socket.ws.close();
});

test("a site's subdomains share its page-socket budget: four subdomains cannot hold every page's sockets", async () => {
  const { port: limitedPort } = await listen({}, { pageSocketLimits: { perPage: 2, perSite: 3, allPages: 6 } });
  const open = (origin: string) =>
    client(bridgedSocket(origin, ['echo'], `plugin_id=echo&client_id=${randomUUID()}`, SECRET, capabilities.newSession()), { origin, headers: { host: new URL(origin).host } }, limitedPort);
  const outcome = async (socket: ReturnType<typeof client>) => {
    const first = await Promise.race([socket.next(), socket.closed]);
    return 'type' in first && first.type === 'hello' ? 'open' : (first as { code: number }).code;
  };
  const site = [open('https://a.evil.com'), open('https://b.evil.com'), open('http://c.evil.com')];
  assert.deepEqual(await Promise.all(site.map(outcome)), ['open', 'open', 'open']);
  const fourth = open('https://d.evil.com');
  assert.equal(await outcome(fourth), 1013, "a fourth subdomain's socket is over the site's budget");
  const other = open('https://news.example.org');
  assert.equal(await outcome(other), 'open', 'another site still gets its sockets');
  for (const socket of [...site, other]) socket.ws.close();
});

test('10k reconnects leave no sockets behind', async () => {
  const { manager, httpServer, port: churnPort } = await listen();
  const before = await new Promise<number>((resolve) => httpServer.getConnections((_error, count) => resolve(count)));
  const rounds = 10_000;
  const parallel = 100;
  let done = 0;
  const worker = async (lane: number) => {
    while (done < rounds) {
      done += 1;
      // Half the lanes reconnect with the same client id (zombie replacement), half with new ones.
      const clientId = lane % 2 === 0 ? `lane-${lane}` : `c-${done}`;
      const ws = new WebSocket(`ws://127.0.0.1:${churnPort}${direct('echo', clientId)}`);
      await once(ws, 'message');
      ws.close();
      await once(ws, 'close');
    }
  };
  await Promise.all(Array.from({ length: parallel }, (_, lane) => worker(lane)));
  await waitFor(() => manager.size() === 0, 'the manager to forget every socket');
  await waitFor(
    () => new Promise<boolean>((resolve) => httpServer.getConnections((_error, count) => resolve(count === before))),
    'the server to hold no sockets',
  );
});
