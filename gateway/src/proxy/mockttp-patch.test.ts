/**
 * Checks our patch of mockttp (patches/mockttp+4.6.5.patch, see patches/README.md): one describe
 * per change, named by the id its `AiPlugs patch (<id>)` comments carry. Every test here fails on
 * an unpatched mockttp (mockttp-patch-unpatched.test.ts proves it by running this file against a
 * copy with the patch reversed): run it after upgrading mockttp or re-creating the patch.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest, type Server } from 'node:http';
import { connect as http2Connect, constants as http2Constants, type ClientHttp2Session, type ClientSessionOptions, type ClientSessionRequestOptions, createSecureServer as createSecureHttp2Server, createServer as createHttp2Server, type IncomingHttpHeaders as Http2Headers } from 'node:http2';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { connect as netConnect, createServer as createNetServer, Socket as NetSocket, type AddressInfo, type Socket } from 'node:net';
import { Transform } from 'node:stream';
import * as tlsModule from 'node:tls';
import { connect as tlsConnect, createSecureContext, type SecureContext } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { generateCACertificate, getLocal, type Mockttp } from 'mockttp';
import * as passthroughHandlingModule from 'mockttp/dist/rules/passthrough-handling';
import * as certificatesModule from 'mockttp/dist/util/certificates';
import type { PassThroughStepOptions } from 'mockttp/dist/rules/requests/request-step-definitions';
import { writeHead } from 'mockttp/dist/util/request-utils';
import { isLocalPortActive, isSocketLoop } from 'mockttp/dist/util/socket-util';
import { WebSocket, WebSocketServer, type ClientOptions } from 'ws';
import { setTimeout as sleep } from 'node:timers/promises';
import { getHeapStatistics } from 'node:v8';
import { CHUNK, collectGarbage, gate, listen, type Handler, MiB, pump, rawExchange, retainedBuffers, retainedHalfwayThroughDownload, viaProxy } from '../../../test/support/proxy-exchange.js';

describe('mockttp patch: lazy-x509', () => {
  // In a child, so that nothing this file (or another test) did loads the packages first; the
  // import goes through the same resolve hooks as this process (the unpatched run's included).
  it('loading mockttp evaluates none of the certificate packages; making a CA loads them', async () => {
    const probe = `import { createRequire } from 'node:module';
const loaded = () => Object.keys(createRequire(import.meta.url).cache).filter((path) => path.includes('/@peculiar/')).length;
const mockttp = await import('mockttp');
const atLoad = loaded();
await mockttp.generateCACertificate();
console.log(JSON.stringify({ atLoad, afterCa: loaded() }));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', probe], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await once(child, 'close');
    const { atLoad, afterCa } = JSON.parse(out) as { atLoad: number; afterCa: number };
    assert.equal(atLoad, 0, 'modules of @peculiar/* evaluated by loading mockttp');
    assert.ok(afterCa > 0, 'generateCACertificate still finds them');
  });
});

describe('mockttp patch: response-tee (mockttp#209)', () => {
  // The download halts halfway; what the process then holds is what the proxy retained.
  const SIZE = 128 * MiB;
  const HALF = SIZE / 2;
  const LIMIT = 16 * MiB;
  let proxy: Mockttp;
  let upstream: { server: Server; url: string };
  let downloadGate = gate();

  before(async () => {
    upstream = await listen((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(SIZE) });
      pump(response, SIZE, { at: HALF, until: downloadGate.promise });
    });
    proxy = getLocal({ recordTraffic: false });
    await proxy.start();
    await proxy.forUnmatchedRequest().always().thenPassThrough();
  });

  after(async () => {
    await proxy.stop();
    upstream.server.closeAllConnections();
    upstream.server.close();
  });

  it(`keeps no copy of a ${SIZE / MiB} MiB download nobody observes, yet gives a response listener the whole body`, async (t) => {
    downloadGate = gate();
    const retained = await retainedHalfwayThroughDownload(proxy, `${upstream.url}/big`, SIZE, () => downloadGate.open());
    t.diagnostic(`retained halfway: ${(retained / MiB).toFixed(1)} MiB`);
    assert.ok(retained < LIMIT, `${Math.round(retained / MiB)} MiB of the body retained halfway (limit ${LIMIT / MiB})`);

    // What the change must keep: someone who asks for bodies still gets them whole.
    const observed = getLocal({ recordTraffic: false });
    await observed.start();
    try {
      const small = await listen((_request, response) => response.end('y'.repeat(300_000)));
      await observed.forUnmatchedRequest().always().thenPassThrough();
      const responseBody = new Promise<number>((resolve) => void observed.on('response', (response) => resolve(response.body.buffer.length)));
      assert.equal((await viaProxy(observed, `${small.url}/page`)).body.length, 300_000);
      assert.equal(await responseBody, 300_000);
      small.server.close();
    } finally {
      await observed.stop();
    }
  });
});

describe('mockttp patch: listen-host', () => {
  it('listens on the listenHost only (mockttp listens on every interface)', async () => {
    const proxy = getLocal({ listenHost: '127.0.0.1' });
    await proxy.start();
    try {
      const address = (proxy as unknown as { server: Server }).server.address() as AddressInfo;
      assert.equal(address.address, '127.0.0.1');
    } finally {
      await proxy.stop();
    }
  });
});

/**
 * Counts the calls mockttp makes to one function of its CommonJS modules (it reads the exports
 * object at each call) until restore(). The module comes in as an import, not a require, so that
 * the unpatched run's redirect applies.
 */
function countCalls(namespace: object, name: string): { count: number; restore: () => void } {
  const exports = (namespace as { default: Record<string, (...args: unknown[]) => unknown> }).default;
  const original = exports[name]!;
  const counter = { count: 0, restore: () => void (exports[name] = original) };
  exports[name] = (...args) => ((counter.count += 1), original(...args));
  return counter;
}

/** The subject CN of the certificate the proxy shows a TLS client tunnelled to `target` (SNI only if given). */
function certificateSubject(proxy: Mockttp, target: string, servername?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const tunnel = httpRequest({ host: '127.0.0.1', port: proxy.port, method: 'CONNECT', path: target });
    tunnel.on('connect', (_response, socket) => {
      const session = tlsConnect({ socket, rejectUnauthorized: false, ...(servername ? { servername } : {}) }, () => {
        resolve(String(session.getPeerCertificate().subject.CN));
        session.destroy();
      });
      session.on('error', reject);
    });
    tunnel.on('error', reject);
    tunnel.end();
  });
}

/** Counts writes (write or writev) on the sockets `which` picks, until stop(). */
function countSocketWrites(which: (socket: Socket) => boolean): { count: number; stop: () => void } {
  const prototype = NetSocket.prototype as unknown as Record<'_write' | '_writev', (this: Socket, ...args: unknown[]) => void>;
  const originals = { _write: prototype._write, _writev: prototype._writev };
  const counter = { count: 0, stop: () => Object.assign(prototype, originals) };
  for (const name of ['_write', '_writev'] as const) {
    const original = originals[name];
    prototype[name] = function (this: Socket, ...args: unknown[]) {
      if (which(this)) counter.count += 1;
      return original.apply(this, args);
    };
  }
  return counter;
}

describe('mockttp patch: port-cache', () => {
  it('reads its own port once per start, not once per request', async () => {
    const upstream = await listen((_request, response) => response.end('ok'));
    const proxy = getLocal({ recordTraffic: false });
    try {
      await proxy.start();
      await proxy.forUnmatchedRequest().always().thenPassThrough();
      const inner = (proxy as unknown as { server: Server }).server;
      const address = inner.address.bind(inner);
      let reads = 0;
      inner.address = () => ((reads += 1), address());
      for (let i = 0; i < 10; i += 1) assert.equal((await viaProxy(proxy, `${upstream.url}/${i}`)).status, 200);
      assert.ok(reads <= 1, `read ${reads} times for 10 requests`);

      // A stopped server has no port, and a new start reads the one it really got.
      await proxy.stop();
      assert.throws(() => proxy.port);
      const probe = createNetServer().listen(0, '127.0.0.1');
      await once(probe, 'listening');
      const other = (probe.address() as AddressInfo).port;
      probe.close();
      await once(probe, 'close');
      await proxy.start(other);
      assert.equal(proxy.port, other);
    } finally {
      await proxy.stop();
      upstream.server.close();
    }
  });
});

describe('mockttp patch: before-request-copies', () => {
  it('gives beforeRequest copies of the headers without lodash, which the hook may change freely; a pseudo-header it sets is still refused', async () => {
    const lodash = createRequire(createRequire(import.meta.url).resolve('mockttp'))('lodash') as Record<string, (...args: unknown[]) => unknown>;
    const cloned = countCalls({ default: lodash }, 'cloneDeep');
    const seen: string[] = [];
    const upstream = await listen((request, response) => {
      seen.push(String(request.headers['x-probe']));
      response.end('ok');
    });
    const proxy = getLocal({ recordTraffic: false });
    try {
      await proxy.start();
      let calls = 0;
      await proxy.forGet(`${upstream.url}/copy`).thenPassThrough({
        beforeRequest: (request) => {
          calls += 1;
          // Changed, not returned: the request goes on as the client sent it.
          (request.headers as Record<string, string>)['x-probe'] = 'changed';
          (request.rawHeaders as Array<[string, string]>).push(['x-probe', 'changed']);
          return undefined;
        },
      });
      await proxy.forGet(`${upstream.url}/returned`).thenPassThrough({ beforeRequest: (request) => ({ headers: { ...request.headers, 'x-probe': 'returned' } }) });
      await proxy.forGet(`${upstream.url}/pseudo`).thenPassThrough({ beforeRequest: (request) => ({ headers: { ...request.headers, ':path': '/elsewhere' } }) });
      assert.equal((await viaProxy(proxy, `${upstream.url}/copy`)).status, 200);
      assert.equal((await viaProxy(proxy, `${upstream.url}/returned`)).status, 200);
      assert.deepEqual(seen, ['undefined', 'returned']);
      assert.equal(calls, 1);
      assert.equal(cloned.count, 0, 'lodash cloneDeep ran for the hook');
      assert.equal((await viaProxy(proxy, `${upstream.url}/pseudo`)).status, 500);
      assert.equal(seen.length, 2, 'the request with a custom pseudo-header reached the site');
    } finally {
      cloned.restore();
      await proxy.stop();
      upstream.server.close();
    }
  });
});

describe('mockttp patch: before-request-framing', () => {
  it('a body bigger than maxBodySize goes upstream whole and framed as the client framed it, past a hook that returned headers', async () => {
    const SIZE = 2 * MiB; // over the 1 MiB replay copy below
    const seen: Array<{ length: string | undefined; chunked: boolean; bytes: number }> = [];
    let stray = 0;
    const upstream = await listen((request, response) => {
      let bytes = 0;
      request.on('data', (chunk: Buffer) => (bytes += chunk.length));
      request.on('end', () => {
        seen.push({ length: request.headers['content-length'], chunked: request.headers['transfer-encoding'] === 'chunked', bytes });
        response.end(String(bytes));
      });
    });
    upstream.server.on('clientError', () => (stray += 1)); // what the site would read as more requests
    const proxy = getLocal({ recordTraffic: false, maxBodySize: MiB });
    try {
      await proxy.start();
      // A hook that sets a header, and one that also returns a wrong length: the body is the client's.
      await proxy.forAnyRequest().thenPassThrough({ beforeRequest: (request) => ({ headers: { ...request.headers, 'x-probe': '1', ...(request.url.endsWith('/wrong') ? { 'content-length': '5' } : {}) } }) });
      const get = await viaProxy(proxy, `${upstream.url}/get`, { headers: { 'content-length': String(SIZE) }, upload: SIZE });
      const post = await viaProxy(proxy, `${upstream.url}/post`, { method: 'POST', upload: SIZE });
      const wrong = await viaProxy(proxy, `${upstream.url}/wrong`, { method: 'POST', headers: { 'content-length': String(SIZE) }, upload: SIZE });
      assert.deepEqual([get.body.toString(), post.body.toString(), wrong.body.toString()], [String(SIZE), String(SIZE), String(SIZE)]);
      assert.deepEqual(seen, [
        { length: String(SIZE), chunked: false, bytes: SIZE },
        { length: undefined, chunked: true, bytes: SIZE },
        { length: String(SIZE), chunked: false, bytes: SIZE },
      ]);
      assert.equal(stray, 0);
    } finally {
      await proxy.stop();
      upstream.server.close();
    }
  });
});

describe('mockttp patch: plain-upstream', () => {
  it('builds TLS options for an HTTPS upstream only', async () => {
    const built = countCalls(passthroughHandlingModule, 'getUpstreamTlsOptions');
    const upstream = await listen((_request, response) => response.end('ok'));
    const proxy = getLocal({ recordTraffic: false });
    try {
      await proxy.start();
      await proxy.forUnmatchedRequest().always().thenPassThrough();
      assert.equal((await viaProxy(proxy, `${upstream.url}/plain`)).status, 200);
      assert.equal(built.count, 0, 'none for plain HTTP');
      // An HTTPS upstream still gets them (here one that refuses the connection).
      await viaProxy(proxy, `https://127.0.0.1:${new URL(upstream.url).port}/tls`).catch(() => undefined);
      assert.equal(built.count, 1);
    } finally {
      built.restore();
      await proxy.stop();
      upstream.server.close();
    }
  });
});

describe('mockttp patch: error-responder', () => {
  it("answers a failed passthrough with the embedder's response, given the error and the request", async () => {
    const closed = await listen(() => {});
    const deadUrl = `${closed.url}/gone`;
    closed.server.close();
    let seen: { code?: unknown; url?: string } = {};
    const proxy = getLocal({
      recordTraffic: false,
      errorResponder: (error, request) => {
        seen = { code: (error as NodeJS.ErrnoException).code, url: request.url };
        return { statusCode: 502, headers: { 'content-type': 'text/plain', 'x-ours': '1' }, body: 'our page' };
      },
    });
    await proxy.start();
    try {
      await proxy.forUnmatchedRequest().always().thenPassThrough();
      const exchange = await viaProxy(proxy, deadUrl);
      assert.equal(exchange.status, 502);
      assert.equal(exchange.headers['x-ours'], '1');
      assert.equal(exchange.body.toString(), 'our page');
      assert.deepEqual(seen, { code: 'ECONNREFUSED', url: deadUrl });
    } finally {
      await proxy.stop();
    }
  });
});

describe('mockttp patch: upstream-parsing and request-head-size', () => {
  /** A site that answers every request with `response`, byte for byte, then closes; it records each request head. */
  async function rawSite(response: string) {
    const heads: string[] = [];
    const server = createNetServer((socket) => {
      let head = '';
      socket.on('data', (chunk: Buffer) => {
        head += chunk.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        heads.push(head);
        socket.end(response);
      });
      socket.on('error', () => undefined);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, heads, close: () => server.close() };
  }

  const through = async (response: string, requestHeaders = '') => {
    const site = await rawSite(response);
    const proxy = getLocal({ recordTraffic: false });
    await proxy.start();
    try {
      await proxy.forUnmatchedRequest().always().thenPassThrough();
      // Written without a half-close (rawExchange ends its side at once, which mockttp takes for an abort).
      const socket = netConnect({ host: '127.0.0.1', port: proxy.port });
      socket.write(`GET ${site.url}/ HTTP/1.1\r\nHost: ${new URL(site.url).host}\r\n${requestHeaders}Connection: close\r\n\r\n`);
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
      await once(socket, 'close');
      return { answer, heads: site.heads };
    } finally {
      await proxy.stop();
      site.close();
    }
  };

  it("relays responses browsers show though Node's strict parser refused them: LF-only lines, a folded header, a 20 KB head", async () => {
    const body = '<p>the site</p>';
    for (const [shape, response] of [
      ['LF-only line endings (routers, old CGI)', `HTTP/1.1 200 OK\ncontent-type: text/html\ncontent-length: ${body.length}\n\n${body}`],
      ['a folded header', `HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nx-note: one\r\n two\r\ncontent-length: ${body.length}\r\n\r\n${body}`],
      ['a 20 KB policy header', `HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-security-policy: default-src 'self' ${'https://cdn.example '.repeat(1000)}\r\ncontent-length: ${body.length}\r\n\r\n${body}`],
    ] as const) {
      const { answer } = await through(response);
      assert.match(answer, /^HTTP\/1\.1 200 /, `${shape}: ${answer.slice(0, 120)}`);
      assert.ok(answer.endsWith(body), shape);
    }
  });

  it('takes a request head of 40 KB (cookies a site set) to the site, where Node refused it with 431', async () => {
    const cookie = `Cookie: ${Array.from({ length: 10 }, (_, i) => `c${i}=${'v'.repeat(4000)}`).join('; ')}\r\n`;
    const { answer, heads } = await through('HTTP/1.1 204 No Content\r\n\r\n', cookie);
    assert.match(answer, /^HTTP\/1\.1 204 /, answer.slice(0, 120));
    assert.ok(heads[0]?.includes('c9='), 'the site got every cookie');
  });
});

describe('mockttp patch: request-listener and request-target', () => {
  it('answers an absolute-form target no URL parser accepts with 400, and keeps serving', async () => {
    const proxy = getLocal({ recordTraffic: false });
    await proxy.start();
    try {
      await proxy.forAnyRequest().always().thenReply(200, 'ok');
      // Unpatched, connect's url.parse throws out of the request event: the process dies.
      const answer = await rawExchange(proxy.port, 'GET http://[::1/ HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.match(answer, /^HTTP\/1\.1 400 /);
      assert.match(await rawExchange(proxy.port, 'GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n'), /^HTTP\/1\.1 200 /);
    } finally {
      await proxy.stop();
    }
  });
});

describe('mockttp patch: sni-callback', () => {
  it("lets https.tlsServerOptions.SNICallback supply every SNI name's certificate", async () => {
    const ca = await generateCACertificate();
    const names: string[] = [];
    let ours: SecureContext | undefined;
    const proxy = getLocal({
      https: {
        ...ca,
        tlsServerOptions: {
          SNICallback: (servername, callback) => {
            names.push(servername);
            // Any certificate will do to tell ours from mockttp's: the CA's own.
            ours ??= createSecureContext({ key: ca.key, cert: ca.cert });
            callback(null, ours);
          },
        },
      },
    });
    await proxy.start();
    try {
      const subject = await certificateSubject(proxy, 'shop.example:443', 'shop.example');
      assert.deepEqual(names, ['shop.example']);
      assert.match(subject, /Mockttp Testing CA/, 'the certificate our callback chose, not one minted for shop.example');
    } finally {
      await proxy.stop();
    }
  });
});

describe('mockttp patch: sni-callback, with the certificate for clients without SNI', () => {
  it('loads no CA and makes no certificate of its own: a client that sends no SNI gets the one given', async () => {
    const loaded = countCalls(certificatesModule, 'getCA');
    const ca = await generateCACertificate();
    const proxy = getLocal({ https: { ...ca, tlsServerOptions: { SNICallback: (_name, callback) => callback(new Error('no SNI expected')), key: ca.key, cert: ca.cert } } });
    try {
      await proxy.start();
      assert.equal(loaded.count, 0, 'mockttp loaded no CA (its constructor generates an RSA key pair)');
      const subject = await certificateSubject(proxy, '127.0.0.1:443');
      assert.match(subject, /Mockttp Testing CA/, 'the certificate given for clients without SNI');
    } finally {
      loaded.restore();
      await proxy.stop();
    }
  });
});

describe('mockttp patch: port-probe', () => {
  it('proxying to a dozen localhost ports leaves no listeners behind (no MaxListenersExceededWarning)', async (t) => {
    const ipv6Loopback = await new Promise<boolean>((resolve) => {
      const probe = createNetServer().once('error', () => resolve(false));
      probe.listen(0, '::1', () => probe.close(() => resolve(true)));
    });
    if (!ipv6Loopback) {
      // mockttp probes ::1 only when the machine has it; without it the leak cannot happen here.
      assert.ok(!process.env.CI, 'this check needs an IPv6 loopback (::1) on CI');
      t.skip('no IPv6 loopback on this machine');
      return;
    }
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    const proxy = getLocal({ recordTraffic: false });
    await proxy.start();
    const sites = await Promise.all(Array.from({ length: 12 }, () => listen((_request, response) => response.end('ok'))));
    try {
      await proxy.forUnmatchedRequest().always().thenPassThrough();
      for (const site of sites) {
        // `localhost` makes mockttp probe which address family the site listens on.
        const exchange = await viaProxy(proxy, site.url.replace('127.0.0.1', 'localhost'));
        assert.equal(exchange.body.toString(), 'ok');
      }
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(warnings.filter((warning) => warning.startsWith('MaxListenersExceededWarning')), []);
    } finally {
      process.off('warning', onWarning);
      sites.forEach((site) => site.server.close());
      await proxy.stop();
    }
  });
});

describe('mockttp patch: transformResponseStream', () => {
  let proxy: Mockttp;
  let upstream: { server: Server; url: string };
  let releaseRest: () => void = () => {};
  let upstreamEndedAt = 0;

  before(async () => {
    upstream = await listen((request, response) => {
      const path = request.url ?? '/';
      if (path === '/slow') {
        // Sends one chunk, then waits until the test has seen it come out of the transform.
        response.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(2 * CHUNK.length) });
        response.write(CHUNK);
        const timeout = setTimeout(() => releaseRest(), 3000);
        releaseRest = () => {
          clearTimeout(timeout);
          upstreamEndedAt = performance.now();
          response.end(CHUNK);
        };
        return;
      }
      if (path === '/dies' || path === '/dies-held') {
        // Half a document, then the connection drops.
        response.writeHead(200, { 'content-type': 'text/html', 'content-length': String(2 * CHUNK.length) });
        response.write(CHUNK, () => setTimeout(() => response.socket?.destroy(), 20));
        return;
      }
      response.writeHead(path === '/missing' ? 404 : 200, { 'content-type': 'text/plain', 'content-length': '5', 'x-upstream': '1' });
      response.end(request.method === 'HEAD' ? undefined : 'hello');
    });
    proxy = getLocal({ recordTraffic: false });
    await proxy.start();
  });

  after(async () => {
    await proxy.stop();
    upstream.server.closeAllConnections();
    upstream.server.close();
  });

  it('pipes the body through the transform as it arrives, before the upstream has finished', async () => {
    let firstChunkAt = 0;
    await proxy.forGet(`${upstream.url}/slow`).thenPassThrough({
      transformResponseStream: () => ({
        transform: () =>
          new Transform({
            transform(chunk: Buffer, _encoding, callback) {
              if (!firstChunkAt) {
                firstChunkAt = performance.now();
                releaseRest();
              }
              callback(null, Buffer.from(chunk.toString().toUpperCase()));
            },
          }),
      }),
    });
    const exchange = await viaProxy(proxy, `${upstream.url}/slow`);
    assert.ok(firstChunkAt > 0 && firstChunkAt <= upstreamEndedAt, 'the transform saw a chunk before the upstream finished');
    assert.equal(exchange.body.toString(), 'X'.repeat(2 * CHUNK.length));
    assert.equal(exchange.headers['content-length'], undefined);
    assert.equal(exchange.headers['transfer-encoding'], 'chunked');
  });

  it('sends a document that arrived whole in one socket write: head, body and end together', async () => {
    await proxy.forGet(`${upstream.url}/whole`).thenPassThrough({
      transformResponseStream: () => ({ transform: () => new Transform({ transform: (chunk: Buffer, _e, done) => done(null, Buffer.from(chunk.toString().toUpperCase())) }) }),
    });
    const writes = countSocketWrites((socket) => socket.localPort === proxy.port);
    try {
      const exchange = await viaProxy(proxy, `${upstream.url}/whole`);
      assert.equal(exchange.body.toString(), 'HELLO');
      assert.equal(writes.count, 1, 'one write to the client (it was a write per tick, and one more for the end)');
    } finally {
      writes.stop();
    }
  });

  it('sends it in one write too when what the transform adds is over the socket buffer (the runtime the gateway inlines is 32 KB)', async () => {
    const insert = Buffer.alloc(64 * 1024, 'x');
    await proxy.forGet(`${upstream.url}/whole-grown`).thenPassThrough({
      transformResponseStream: () => ({
        transform: () =>
          new Transform({
            transform(chunk: Buffer, _e, done) {
              // As the head rewriter does: what comes before, the insert, and the rest, as separate chunks.
              this.push(chunk.subarray(0, 2));
              this.push(insert);
              done(null, chunk.subarray(2));
            },
          }),
      }),
    });
    const writes = countSocketWrites((socket) => socket.localPort === proxy.port);
    try {
      const exchange = await viaProxy(proxy, `${upstream.url}/whole-grown`);
      assert.equal(exchange.body.toString(), `he${insert.toString()}llo`);
      assert.equal(writes.count, 1, 'one write to the client (over the high-water mark, the rest and the end waited for a drain: two)');
    } finally {
      writes.stop();
    }
  });

  it('reads a transformed body only as fast as the client takes it (writes that wait for one loop turn are bounded too)', async () => {
    const size = 128 * MiB;
    const site = await listen((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html', 'content-length': String(size) });
      pump(response, size);
    });
    await proxy.forGet(`${site.url}/flood`).thenPassThrough({
      transformResponseStream: () => ({ transform: () => new Transform({ transform: (chunk: Buffer, _e, done) => done(null, Buffer.from(chunk.toString().toUpperCase())) }) }),
    });
    const base = await retainedBuffers();
    const client = netConnect({ host: '127.0.0.1', port: proxy.port });
    try {
      client.write(`GET ${site.url}/flood HTTP/1.1\r\nhost: ${new URL(site.url).host}\r\n\r\n`);
      const [first] = (await once(client, 'data')) as [Buffer];
      client.pause();
      assert.match(first.toString('latin1'), /\r\ntransfer-encoding: chunked\r\n(?:[^\r\n]+\r\n)*\r\n[0-9a-f]+\r\nX/, 'the body came through the transform');
      // Long enough for the site to send all of it, were nothing holding it back.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const held = (await retainedBuffers()) - base;
      assert.ok(held < 16 * MiB, `the proxy held ${(held / MiB).toFixed(1)} MiB of a body its client does not read`);
    } finally {
      client.destroy();
      site.server.closeAllConnections();
      site.server.close();
    }
  });

  it('replaces status and headers, and is given the response head and request', async () => {
    let seen: { status?: number; header?: unknown; method?: string; url?: string } = {};
    await proxy.forGet(`${upstream.url}/head`).thenPassThrough({
      transformResponseStream: (response, request) => {
        seen = { status: response.statusCode, header: response.headers['x-upstream'], method: request.method, url: request.url };
        return { statusCode: 203, headers: { 'content-type': 'text/plain', 'x-rewritten': 'yes' }, transform: () => [new Transform({ transform: (chunk, _e, done) => done(null, Buffer.concat([chunk, chunk])) })] };
      },
    });
    const exchange = await viaProxy(proxy, `${upstream.url}/head`);
    assert.deepEqual(seen, { status: 200, header: '1', method: 'GET', url: `${upstream.url}/head` });
    assert.equal(exchange.status, 203);
    assert.equal(exchange.headers['x-rewritten'], 'yes');
    assert.equal(exchange.headers['x-upstream'], undefined);
    assert.equal(exchange.body.toString(), 'hellohello');
  });

  it('passes the response through untouched when the hook returns nothing', async () => {
    let called = 0;
    await proxy.forGet(`${upstream.url}/missing`).thenPassThrough({ transformResponseStream: () => void (called += 1) });
    const exchange = await viaProxy(proxy, `${upstream.url}/missing`);
    assert.equal(called, 1, 'the hook was asked');
    assert.equal(exchange.status, 404);
    assert.equal(exchange.headers['content-length'], '5');
    assert.equal(exchange.body.toString(), 'hello');
  });

  it('never calls the transform for a response without a body', async () => {
    let created = false;
    await proxy.forAnyRequest().withUrlMatching(/\/nobody$/).thenPassThrough({
      transformResponseStream: () => ({ headers: { 'content-type': 'text/plain', 'x-hook': '1' }, transform: () => ((created = true), new Transform()) }),
    });
    const exchange = await viaProxy(proxy, `${upstream.url}/nobody`, { method: 'HEAD' });
    assert.equal(exchange.headers['x-hook'], '1');
    assert.equal(created, false);
  });

  it('cuts the response short when the transform fails mid-body', async () => {
    await proxy.forGet(`${upstream.url}/broken`).thenPassThrough({
      transformResponseStream: () => ({ transform: () => new Transform({ transform: (_chunk, _e, done) => done(new Error('boom')) }) }),
    });
    await assert.rejects(viaProxy(proxy, `${upstream.url}/broken`), /aborted|socket hang up|ECONNRESET/);
  });

  it('cuts the response short when the upstream dies mid-body, never ends it as complete', async () => {
    let transformed = 0;
    await proxy.forGet(`${upstream.url}/dies`).thenPassThrough({
      transformResponseStream: () => ({ transform: () => new Transform({ transform: (chunk: Buffer, _e, done) => done(null, ((transformed += chunk.length), chunk)) }) }),
    });
    await assert.rejects(viaProxy(proxy, `${upstream.url}/dies`), /aborted|socket hang up|ECONNRESET/);
    assert.equal(transformed, CHUNK.length, 'the half that arrived went through the transform');
  });

  it('sends the client what its stages still held when the upstream dies mid-body, then cuts the response short', async () => {
    // A stage that holds its input (the head rewriter until it finds the head, a decoder's window):
    // what the site did send still reaches the browser, which shows a page broken off direct as far as it got.
    await proxy.forGet(`${upstream.url}/dies-held`).thenPassThrough({ transformResponseStream: () => ({ transform: () => holdUntilEnd() }) });
    let received = 0;
    await assert.rejects(viaProxy(proxy, `${upstream.url}/dies-held`, { onData: (bytes) => (received = bytes) }), /aborted|socket hang up|ECONNRESET/);
    assert.equal(received, CHUNK.length, 'the half that arrived, then the failure');
  });

  it('over HTTP/2 too: the held bytes leave before the stream is reset, and the reset is an error', async () => {
    // nghttp2 sends a reset ahead of the stream's queued data: reset at once, the bytes were lost.
    const ca = await generateCACertificate({ subject: { commonName: 'localhost' } });
    const { server: site, url: siteUrl } = await listenHttps(ca, (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html', 'content-length': String(2 * CHUNK.length) });
      response.write(CHUNK, () => setTimeout(() => response.socket?.destroy(), 20));
    });
    const { proxy, client } = await h2ThroughProxy(ca, siteUrl, {}, { transformResponseStream: () => ({ transform: () => holdUntilEnd() }) });
    try {
      const stream = client.request({ ':path': '/page' });
      let received = 0;
      stream.on('data', (chunk: Buffer) => (received += chunk.length));
      stream.on('error', () => undefined); // the reset, checked by its code below
      let ended = false;
      stream.on('end', () => (ended = true));
      await new Promise((resolve) => stream.on('close', resolve));
      assert.equal(ended, false, 'never ended as complete');
      const code = stream.rstCode;
      assert.equal(code, http2Constants.NGHTTP2_INTERNAL_ERROR);
      assert.equal(received, CHUNK.length);
    } finally {
      await closeH2(client, proxy, site);
    }
  });

  it('refuses to be combined with beforeResponse', () => {
    assert.throws(
      () => proxy.forGet('/x').thenPassThrough({ beforeResponse: () => undefined, transformResponseStream: () => undefined }),
      /cannot be combined/,
    );
  });
});

describe('mockttp patch: head-flush', () => {
  let proxy: Mockttp;
  let upstream: { server: Server; url: string };
  let bodyGate = gate();

  before(async () => {
    // An event stream or a long poll: the site sends its head at once and its body when it has one.
    upstream = await listen((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      response.flushHeaders();
      void bodyGate.promise.then(() => response.end('data: first\n\n'));
    });
    proxy = getLocal({ recordTraffic: false });
    await proxy.start();
  });

  after(async () => {
    bodyGate.open();
    await proxy.stop();
    upstream.server.closeAllConnections();
    upstream.server.close();
  });

  for (const [name, transformed] of [
    ['passed through', false],
    ['through a transformResponseStream hook', true],
  ] as const) {
    it(`sends an HTTP/1 client the head a site sent before its body, ${name}, where it waited for the first body byte`, { timeout: 10_000 }, async () => {
      bodyGate = gate();
      await proxy.forGet(`${upstream.url}/${transformed ? 'transformed' : 'plain'}`).thenPassThrough(transformed ? { transformResponseStream: () => ({ transform: () => new Transform({ transform: (chunk: Buffer, _e, done) => done(null, chunk) }) }) } : {});
      // The site sends its body only once the client has the head: a proxy that holds the head never gets it.
      const response = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
        httpRequest({ host: '127.0.0.1', port: proxy.port, path: `${upstream.url}/${transformed ? 'transformed' : 'plain'}`, headers: { host: new URL(upstream.url).host } }, resolve).on('error', reject).end();
      });
      assert.equal(response.headers['content-type'], 'text/event-stream');
      bodyGate.open();
      let body = '';
      for await (const chunk of response) body += String(chunk);
      assert.equal(body, 'data: first\n\n');
    });
  }
});

describe('mockttp patch: h2-single-values', () => {
  it('answers an HTTP/2 client a response whose site sent a single-value header twice, joined as a browser reads them over HTTP/1', async () => {
    // Node's HTTP/2 server threw ERR_HTTP2_HEADER_SINGLE_VALUE: the page could not load through the proxy at all.
    const server = createHttp2Server((_request, response) => {
      const headers: Array<[string, string]> = [
        ['X-Content-Type-Options', 'nosniff'],
        ['X-Content-Type-Options', 'nosniff'],
        ['Content-Type', 'text/plain'],
        ['Content-Type', 'text/html'],
        ['Content-Type', 'text/plain'],
        ['Content-Length', '2'],
        ['Content-Length', '2'],
        ['Set-Cookie', 'a=1'],
        ['Set-Cookie', 'b=2'],
      ];
      try {
        writeHead(response, 200, undefined, headers);
        response.end('ok');
      } catch {
        // The compatibility response keeps the headers that threw: reset the stream, or the client waits for ever.
        response.stream.close(http2Constants.NGHTTP2_INTERNAL_ERROR);
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = http2Connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const stream = client.request({ ':path': '/' });
      const [headers] = (await once(stream, 'response')) as [Http2Headers];
      let body = '';
      for await (const chunk of stream) body += String(chunk);
      assert.equal(body, 'ok');
      assert.equal(headers[':status'], 200);
      assert.equal(headers['x-content-type-options'], 'nosniff');
      // The last valid Content-Type wins for a browser, as it did with the three headers.
      assert.equal(headers['content-type'], 'text/plain, text/html, text/plain');
      assert.equal(headers['content-length'], '2');
      assert.deepEqual(headers['set-cookie'], ['a=1', 'b=2']);
    } finally {
      client.close();
      server.close();
    }
  });
});

describe('mockttp patch: h2-location-conflict', () => {
  it('refuses a redirect whose site named two different targets, as a browser does, instead of joining them into one', async () => {
    // Chromium fails such a response over HTTP/1 (ERR_RESPONSE_HEADERS_MULTIPLE_LOCATION); joined
    // for HTTP/2, the two became one URL ("/a, /b"), where the browser went.
    const ca = await generateCACertificate({ subject: { commonName: 'localhost' } });
    const { server: site, url: siteUrl } = await listenHttps(ca, (request, response) => {
      const twice = request.url === '/same' ? ['/a', '/a'] : ['/a', '/b'];
      response.writeHead(302, [['Location', twice[0]!], ['Location', twice[1]!], ['Content-Length', '0']].flat()).end();
    });
    const { proxy, client } = await h2ThroughProxy(ca, siteUrl);
    try {
      const status = async (path: string) => {
        // Unpatched, the repeated header throws in the proxy, which then never answers this stream.
        const headers = await h2Exchange(client, { ':path': path }, { signal: AbortSignal.timeout(5000) });
        return [headers[':status'], headers.location];
      };
      assert.deepEqual(await status('/same'), [302, '/a'], 'the same target twice is one target');
      const [code, location] = await status('/two');
      assert.notEqual(code, 302);
      assert.equal(location, undefined);
    } finally {
      await closeH2(client, proxy, site);
    }
  });
});

describe('mockttp patch: h2-upstream-headers', () => {
  it("relays an HTTP/2 site's response with 300 header fields (cookies), where Node's client refused more than 128", async () => {
    // Node's HTTP/2 client takes 128 fields by default and reset the stream (ENHANCE_YOUR_CALM):
    // the page got a 502 through the proxy. Chromium takes any number, up to 256 KiB in all.
    const ca = await generateCACertificate({ subject: { commonName: 'localhost' } });
    const COOKIES = 300;
    const site = createSecureHttp2Server({ key: ca.key, cert: ca.cert }, (_request, response) => {
      const headers: Array<[string, string]> = [['content-type', 'text/plain']];
      for (let index = 0; index < COOKIES; index++) headers.push(['set-cookie', `c${index}=${index}; Path=/`]);
      response.writeHead(200, headers.flat() as unknown as Record<string, string>);
      response.end('ok');
    });
    site.listen(0, '127.0.0.1');
    await once(site, 'listening');
    const siteUrl = `https://localhost:${(site.address() as AddressInfo).port}`;
    const { proxy, client } = await h2ThroughProxy(ca, siteUrl, { maxHeaderListPairs: 1000 });
    try {
      const stream = client.request({ ':path': '/' });
      const [headers] = (await once(stream, 'response')) as [Http2Headers];
      let body = '';
      for await (const chunk of stream) body += String(chunk);
      assert.equal(headers[':status'], 200, body.slice(0, 200));
      assert.equal(headers['set-cookie']?.length, COOKIES);
      assert.equal(body, 'ok');
    } finally {
      await closeH2(client, proxy, site);
    }
  });
});

describe('mockttp patch: h2-request-headers', () => {
  it('takes an HTTP/2 request of 300 header fields (cookies sent as crumbs), where Node refused more than 128', async () => {
    // HTTP/2 clients may send each cookie as a field of its own (RFC 9113 8.2.3; Firefox does), and
    // Node's HTTP/2 server reset a request of more than 128 fields: a site with many cookies failed.
    const ca = await generateCACertificate({ subject: { commonName: 'localhost' } });
    let cookies = '';
    const { server: site, url: siteUrl } = await listenHttps(ca, (request, response) => {
      cookies = request.headers.cookie ?? '';
      answerOk(request, response);
    });
    const { proxy, client } = await h2ThroughProxy(ca, siteUrl);
    try {
      const crumbs = Array.from({ length: 300 }, (_, index) => `c${index}=${index}`);
      // An array value sends one field per crumb.
      const headers = await h2Exchange(client, { ':path': '/', cookie: crumbs } as unknown as Http2Headers);
      assert.equal(headers[':status'], 200);
      assert.equal(cookies.split('; ').length, 300);
    } finally {
      await closeH2(client, proxy, site);
    }
  });
});

describe('mockttp patch: h2-send-head-size', () => {
  it("answers an HTTP/2 client a response head of 80 KB (130 cookies of 600 bytes), where Node's server reset it and closed the connection", async () => {
    // Node's HTTP/2 server sends a head of at most 64 KiB: past that nghttp2 reset the stream
    // (FRAME_SIZE_ERROR) and Node closed the whole connection, the browser's other requests with it.
    // Direct over HTTP/1.1, Chromium takes such a head (its limit is 256 KiB).
    const ca = await generateCACertificate({ subject: { commonName: 'localhost' } });
    const cookies = Array.from({ length: 130 }, (_, index) => `c${index}=${'v'.repeat(600)}; Path=/`);
    const { server: site, url: siteUrl } = await listenHttps(ca, (_request, response) => void response.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': cookies }).end('ok'));
    const { proxy, client } = await h2ThroughProxy(ca, siteUrl, { maxHeaderListPairs: 1000, settings: { maxHeaderListSize: 256 * 1024 } });
    try {
      for (const path of ['/page', '/next']) {
        const headers = await h2Exchange(client, { ':path': path });
        assert.equal(headers[':status'], 200);
        assert.equal(headers['set-cookie']?.length, 130);
      }
    } finally {
      await closeH2(client, proxy, site);
    }
  });

  it('sends an HTTP/2 site a request head of 80 KB (the cookies those responses set), where the client refused to and the page was a 502', async () => {
    const ca = await generateCACertificate({ subject: { commonName: 'localhost' } });
    let cookieBytes = 0;
    const site = createSecureHttp2Server({ key: ca.key, cert: ca.cert, maxHeaderListPairs: 1000, settings: { maxHeaderListSize: 256 * 1024 } }, (request, response) => {
      cookieBytes = String(request.headers.cookie ?? '').length;
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    site.listen(0, '127.0.0.1');
    await once(site, 'listening');
    // As Chromium does, the client sends such a head (Node's own client would not, by default).
    const { proxy, client } = await h2ThroughProxy(ca, `https://localhost:${(site.address() as AddressInfo).port}`, { maxSendHeaderBlockLength: 1024 * 1024 });
    try {
      // Letters HPACK codes in 5 bits: 80 KB in three frames. Past eight frames nghttp2 refuses a
      // head whatever its size (too many CONTINUATION frames), the proxy's own receiving end included.
      const cookie = Array.from({ length: 130 }, (_, index) => `c${index}=${'e'.repeat(600)}`).join('; ');
      const headers = await h2Exchange(client, { ':path': '/', cookie });
      assert.equal(headers[':status'], 200);
      assert.equal(cookieBytes, cookie.length);
    } finally {
      await closeH2(client, proxy, site);
    }
  });
});

describe('mockttp patch: upstream-idle', () => {
  it("drops an idle socket to a site before the site's keep-alive timeout does, so no request meets a closing socket", async () => {
    // A request written on an upstream socket in the instant the site closes it for idleness is
    // reset, and the page gets a 502 a browser would have retried itself (seen against Node
    // servers, which close idle sockets after 5 s). Here the site closes after 3 s and says so
    // (`Keep-Alive: timeout=3`): the proxy must let go first, 1 s before.
    const site = await listen((_request, response) => response.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
    site.server.keepAliveTimeout = 3000;
    const closings: Array<Promise<'the proxy' | 'the site'>> = [];
    site.server.on('connection', (socket: Socket) => {
      let peerEnded = false;
      socket.on('end', () => (peerEnded = true));
      closings.push(new Promise((resolve) => socket.on('close', () => resolve(peerEnded ? 'the proxy' : 'the site'))));
    });
    const proxy = getLocal({ recordTraffic: false });
    await proxy.start();
    await proxy.forAnyRequest().thenPassThrough();
    const agent = new HttpAgent({ keepAlive: true });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const request = httpRequest({ host: '127.0.0.1', port: proxy.port, path: `${site.url}/app.js`, agent, headers: { host: new URL(site.url).host } }, (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
        });
        request.on('error', reject);
        request.end();
      });
      assert.equal(status, 200);
      assert.equal(closings.length, 1);
      assert.equal(await closings[0], 'the proxy', 'the idle upstream socket was closed by the proxy, ahead of the site');
    } finally {
      agent.destroy();
      await proxy.stop();
      site.server.closeAllConnections();
      site.server.close();
    }
  });
});

describe('mockttp patch: upstream-sockets', () => {
  it('opens at most 6 sockets to one site for the many requests of one HTTP/2 client connection, as a browser would', async () => {
    // A browser speaks HTTP/2 to the proxy, so one connection carries all of a page's requests to
    // a site at once; without a limit the proxy opened an upstream connection (a TLS handshake on
    // each side) per request in flight, where the browser itself, talking HTTP/1.1 to that site,
    // keeps to 6. The site holds its answers until 6 requests arrived, so every request is in
    // flight at once: unlimited, all 20 get a socket of their own.
    const REQUESTS = 20;
    const LIMIT = 6;
    const ca = await generateCACertificate({ subject: { commonName: 'localhost' } });
    const held = gate();
    let arrived = 0;
    const { server: site, url: siteUrl } = await listenHttps(ca, (request, response) => {
      if (++arrived === LIMIT) held.open();
      void held.promise.then(() => answerOk(request, response));
    });
    let connections = 0;
    site.on('secureConnection', () => connections++);
    const { proxy, client } = await h2ThroughProxy(ca, siteUrl);
    try {
      const statuses = await Promise.all(
        Array.from({ length: REQUESTS }, (_, index) => {
          const stream = client.request({ ':path': `/asset-${index}.js` });
          stream.resume();
          return Promise.all([once(stream, 'response').then(([headers]) => (headers as Record<string, unknown>)[':status']), once(stream, 'end')]).then(([status]) => status);
        }),
      );
      assert.deepEqual(statuses, Array<number>(REQUESTS).fill(200));
      assert.ok(connections <= LIMIT, `${connections} upstream connections for ${REQUESTS} requests (at most ${LIMIT})`);
    } finally {
      await closeH2(client, proxy, site);
    }
  });
});

describe('mockttp patch: upstream-context', () => {
  it('builds one TLS context for many upstream connections, and still refuses a site its trust does not cover', async () => {
    // Each request comes on a connection of its own, so each needs an upstream connection of its
    // own; with a trusted CA given, every context mockttp built parsed the whole root store again.
    const trusted = await generateCACertificate({ subject: { commonName: 'localhost' } });
    const stranger = await generateCACertificate({ subject: { commonName: 'localhost' } });
    const sites = await Promise.all([trusted, stranger].map((certificate) => listenHttps(certificate)));
    const proxy = getLocal({ recordTraffic: false });
    await proxy.start();
    await proxy.forAnyRequest().thenPassThrough({ additionalTrustedCAs: [{ cert: trusted.cert }] });
    const built = countCalls(tlsModule, 'createSecureContext');
    try {
      for (let index = 0; index < 3; index++) assert.equal((await viaProxy(proxy, `${sites[0]!.url}/app-${index}.js`, { agent: false })).status, 200);
      assert.equal(built.count, 1, 'TLS contexts built for three upstream connections');
      assert.equal((await viaProxy(proxy, `${sites[1]!.url}/app.js`, { agent: false })).status, 502, 'a site whose certificate no trusted CA issued');
    } finally {
      built.restore();
      await proxy.stop();
      for (const site of sites) {
        site.server.closeAllConnections();
        site.server.close();
      }
    }
  });
});

/**
 * A proxy that intercepts HTTPS with `ca` and passes everything through, and an HTTP/2 client
 * speaking to `siteUrl` through it, over TLS with ALPN as a browser does.
 */
async function h2ThroughProxy(ca: { key: string; cert: string }, siteUrl: string, clientOptions: ClientSessionOptions = {}, passThrough: PassThroughStepOptions = {}): Promise<{ proxy: Mockttp; client: ClientHttp2Session }> {
  const proxy = getLocal({ https: ca, http2: true, recordTraffic: false });
  await proxy.start();
  await proxy.forAnyRequest().thenPassThrough({ ignoreHostHttpsErrors: true, ...passThrough });
  const client = http2Connect(siteUrl, {
    ...clientOptions,
    createConnection: () => tlsConnect({ host: '127.0.0.1', port: proxy.port, servername: 'localhost', ALPNProtocols: ['h2'], rejectUnauthorized: false }),
  });
  return { proxy, client };
}

/** One request over an HTTP/2 client, read to its end: the response head. */
async function h2Exchange(client: ClientHttp2Session, headers: Http2Headers, options: ClientSessionRequestOptions = {}): Promise<Http2Headers> {
  const stream = client.request(headers, options);
  const [head] = (await once(stream, 'response')) as [Http2Headers];
  stream.resume();
  await once(stream, 'end');
  return head;
}

/** Closes what an HTTP/2 test through the proxy opened: the client, the proxy and the site with its connections. */
async function closeH2(client: ClientHttp2Session, proxy: Mockttp, site: { close(): unknown; closeAllConnections?(): void }): Promise<void> {
  client.close();
  await proxy.stop();
  site.closeAllConnections?.();
  site.close();
}

const answerOk: Handler = (_request, response) => response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');

/** An HTTPS site on localhost that shows `certificate` (self-signed, for `localhost`); answers 200 unless given a handler. */
async function listenHttps(certificate: { key: string; cert: string }, handler: Handler = answerOk): Promise<{ server: HttpsServer; url: string }> {
  const server = createHttpsServer(certificate, handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `https://localhost:${(server.address() as AddressInfo).port}` };
}

describe('mockttp patch: url-memo', () => {
  it('keeps no URL it normalized once the next ones came: a page choosing its URLs cannot grow the memo', async () => {
    // Every request is normalized for each URL matcher (the bridge rules have two), and a page
    // decides which URLs its browser requests.
    const proxy = getLocal({ recordTraffic: false });
    await proxy.start();
    await proxy.forGet().withUrlMatching(/\/__never\//).thenReply(204);
    await proxy.forUnmatchedRequest().thenReply(200, 'ok');
    const padding = 'q'.repeat(8 * 1024);
    try {
      collectGarbage();
      const before = getHeapStatistics().used_heap_size;
      for (let index = 0; index < 2000; index++) assert.equal((await viaProxy(proxy, `http://site.example/?n=${index}&${padding}`)).status, 200);
      collectGarbage();
      const grown = (getHeapStatistics().used_heap_size - before) / MiB;
      assert.ok(grown < 4, `the heap kept ${grown.toFixed(1)} MiB after 2000 distinct 8 KiB URLs (16 MiB if each is kept)`);
    } finally {
      await proxy.stop();
    }
  });
});

/** A site's WebSocket server on loopback, and a client connected to it through `proxy` (the way a browser's proxied request arrives). */
async function relayedSocketPair(proxy: Mockttp, deflate: boolean): Promise<{ site: WebSocketServer; siteSocket: WebSocket; client: WebSocket }> {
  const site = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: true });
  await once(site, 'listening');
  const port = (site.address() as AddressInfo).port;
  const accepted = once(site, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: deflate, createConnection: () => netConnect(proxy.port, '127.0.0.1') } as ClientOptions);
  await once(client, 'open');
  const [siteSocket] = await accepted;
  return { site, siteSocket, client };
}

describe('mockttp patch: websocket-limits', () => {
  it("gives the site's socket a close timeout: a page's last messages wait for a site that is not reading, then its close", async () => {
    // mockttp makes the site's socket by hand, and ws's timer for its close ran out after a
    // millisecond: what the page had sent before its close and the site had not taken yet was
    // destroyed with the socket (helper-91).
    const proxy = getLocal({ recordTraffic: false });
    await proxy.start();
    await proxy.forAnyWebSocket().thenPassThrough();
    // The proxy's own sockets, as ws hands them their connections; its `ws` is the one `require` loads.
    const relay = (createRequire(createRequire(import.meta.url).resolve('mockttp'))('ws') as typeof WebSocket).prototype as WebSocket & { setSocket: (...args: unknown[]) => void };
    const setSocket = relay.setSocket;
    const made: WebSocket[] = [];
    relay.setSocket = function (this: WebSocket, ...args: unknown[]) {
      made.push(this);
      return setSocket.apply(this, args);
    };
    const { site, siteSocket, client } = await relayedSocketPair(proxy, false).finally(() => (relay.setSocket = setSocket));
    const toSite = made.find((socket) => socket !== client && socket !== siteSocket && !(socket as unknown as { _isServer: boolean })._isServer)!;
    try {
      const raw = (siteSocket as unknown as { _socket: Socket })._socket;
      raw.pause();
      let received = 0;
      siteSocket.on('message', () => (received += 1));
      const closed = closeCode(siteSocket, 30_000);
      // 256 KiB at a time until the kernel's buffers are full and one waits in the proxy: less
      // than the proxy lets wait before it stops reading the page, so it reads the close.
      let sent = 0;
      while (toSite.bufferedAmount === 0 && sent < 1000) {
        client.send(Buffer.alloc(256 * 1024, sent));
        sent += 1;
        await sleep(20);
      }
      assert.ok(toSite.bufferedAmount > 0, 'no message waited in the proxy');
      client.close(1000);
      await sleep(500);
      raw.resume();
      assert.deepEqual({ code: await closed, received }, { code: 1000, received: sent });
    } finally {
      client.terminate();
      site.close();
      await proxy.stop();
    }
  });

  it('reads from a site only as fast as the client takes it: a client that stops reading stops the flood', async () => {
    const proxy = getLocal({ recordTraffic: false });
    await proxy.start();
    await proxy.forAnyWebSocket().thenPassThrough();
    const { site, siteSocket, client } = await relayedSocketPair(proxy, false);
    let received = 0;
    client.on('message', (data: Buffer) => (received += data.length));
    try {
      client.pause();
      // The site sends 64 KiB messages while its own socket takes them; what leaves it is what the proxy read.
      const message = randomBytes(64 * 1024);
      let flushed = 0;
      let sent = 0;
      await new Promise<void>((resolve) => {
        let done = false;
        const finish = () => ((done = true), resolve());
        const deadline = setTimeout(finish, 5000);
        const more = () => {
          if (done) return;
          while (siteSocket.bufferedAmount < MiB && flushed < 64 * MiB) {
            sent += message.length;
            siteSocket.send(message, { binary: true, compress: false }, () => (flushed += message.length));
          }
          if (flushed >= 64 * MiB) return void (clearTimeout(deadline), finish());
          setTimeout(more, 5);
        };
        more();
      });
      assert.ok(flushed < 32 * MiB, `the proxy read ${(flushed / MiB).toFixed(0)} MiB from the site for a client that reads nothing`);
      // Nothing is lost: once the client reads again, every message arrives.
      client.resume();
      siteSocket.send('end');
      await new Promise<void>((resolve) => client.on('message', (data: Buffer) => String(data) === 'end' && resolve()));
      assert.equal(received - 3, sent);
    } finally {
      client.terminate();
      site.close();
      await proxy.stop();
    }
  });

  it('counts each message, not only its bytes: a flood of empty messages at a client that takes none stops too', async () => {
    const proxy = getLocal({ recordTraffic: false });
    await proxy.start();
    await proxy.forAnyWebSocket().thenPassThrough();
    // The proxy's socket to the client never gets a send written out. mockttp keeps the `send` it
    // finds as the socket opens, so this goes in first; its `ws` is the one `require` loads.
    const relay = (createRequire(createRequire(import.meta.url).resolve('mockttp'))('ws') as typeof WebSocket).prototype;
    const send = relay.send;
    let relayed = 0;
    let siteSocket: WebSocket | undefined;
    relay.send = function (this: WebSocket, ...args: unknown[]) {
      if (siteSocket && this !== siteSocket && (this as unknown as { _isServer: boolean })._isServer) return void (relayed += 1);
      return (send as (...sent: unknown[]) => void).apply(this, args);
    } as WebSocket['send'];
    const pair = await relayedSocketPair(proxy, false).finally(() => (relay.send = send));
    siteSocket = pair.siteSocket;
    const flood = 200_000;
    try {
      // 400 KB on the wire: the sockets hold it all, so only the proxy's own reading can stop short.
      for (let index = 0; index < flood; index += 1) siteSocket.send('', { compress: false });
      let before = -1;
      while (relayed !== before && relayed < flood) {
        before = relayed;
        await sleep(500);
      }
      // Reading pauses past 1 MiB of sends waiting (256 bytes a message), within the chunk it is reading (64 KiB, ~32,768 of them).
      assert.ok(relayed > 0 && relayed < flood / 2, `the proxy took ${relayed} of ${flood} empty messages for a client that took none`);
    } finally {
      pair.client.terminate();
      pair.site.close();
      await proxy.stop();
    }
  });

  it('closes a socket whose site sends a message over 100 MiB, compressed or not, instead of inflating it', async () => {
    const proxy = getLocal({ recordTraffic: false });
    await proxy.start();
    await proxy.forAnyWebSocket().thenPassThrough();
    const { site, siteSocket, client } = await relayedSocketPair(proxy, true);
    try {
      let received = 0;
      client.on('message', (data: Buffer) => (received += data.length));
      // 128 MiB of zeros: about 128 KiB on the wire with permessage-deflate.
      siteSocket.send(Buffer.alloc(128 * MiB), { binary: true, compress: true });
      await once(client, 'close');
      assert.equal(received, 0, 'the client was handed the whole inflated message');
    } finally {
      client.terminate();
      site.close();
      await proxy.stop();
    }
  });
});

/** How a socket closed, or 'still open' after `ms` (a patch that is missing must fail the test, not hang it). */
function closeCode(socket: WebSocket, ms: number): Promise<number | 'still open'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('still open'), ms);
    socket.once('close', (code: number) => (clearTimeout(timer), resolve(code)));
  });
}

/** The most a loopback TCP connection's two socket buffers may hold (Linux's tcp_wmem and tcp_rmem limits; 64 MiB elsewhere). */
async function kernelSocketBufferMost(): Promise<number> {
  const most = async (file: string) => Number((await readFile(file, 'utf8')).trim().split(/\s+/)[2]);
  try {
    return (await most('/proc/sys/net/ipv4/tcp_wmem')) + (await most('/proc/sys/net/ipv4/tcp_rmem'));
  } catch {
    return 64 * MiB;
  }
}

describe('mockttp patch: websocket-pipe-errors', () => {
  it('prints nothing when a client goes away with messages still queued for it (it printed a stack trace per message)', async (t) => {
    const printed = t.mock.method(console, 'error', () => undefined);
    const proxy = getLocal({ recordTraffic: false });
    await proxy.start();
    await proxy.forAnyWebSocket().thenPassThrough();
    const { site, siteSocket, client } = await relayedSocketPair(proxy, false);
    try {
      client.pause();
      // Queued in the proxy for a client that reads nothing, then the client is gone. Only what
      // the proxy itself holds fails there, so the site sends more than the kernel's buffers on
      // both sides of the proxy can take (a fixed 4 MiB all fitted where tcp_rmem allows 32 MiB,
      // and the unpatched copy printed nothing).
      const message = randomBytes(64 * 1024);
      const bytes = (await kernelSocketBufferMost()) + 8 * MiB;
      for (let sent = 0; sent < bytes; sent += message.length) siteSocket.send(message, { binary: true, compress: false });
      // Until the proxy has read all of it (unpatched) or stopped reading (patched).
      for (let last = -1, steady = 0; siteSocket.bufferedAmount > 0 && steady < 3; steady = siteSocket.bufferedAmount === last ? steady + 1 : 0) {
        last = siteSocket.bufferedAmount;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      client.terminate();
      await closeCode(siteSocket, 5000);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(
        printed.mock.calls.map((call) => String(call.arguments[0])).filter((text) => text.startsWith('Websocket')),
        [],
      );
    } finally {
      site.close();
      await proxy.stop();
    }
  });
});

describe('mockttp patch: websocket-message-limit', () => {
  it('closes a relayed socket on a message over maxMessageBytes, from the site or from the client', async () => {
    const proxy = getLocal({ recordTraffic: false });
    await proxy.start();
    await proxy.forAnyWebSocket().thenPassThrough({ maxMessageBytes: 64 * 1024 });
    const pairs: Array<Awaited<ReturnType<typeof relayedSocketPair>>> = [];
    try {
      const fromSite = await relayedSocketPair(proxy, true);
      pairs.push(fromSite);
      const received: number[] = [];
      fromSite.client.on('message', (data: Buffer) => received.push(data.length));
      fromSite.siteSocket.send(Buffer.alloc(32 * 1024), { binary: true, compress: true });
      fromSite.siteSocket.send(Buffer.alloc(128 * 1024), { binary: true, compress: true });
      // Closed as the site's socket was, with 1009, after the message before it (the relay had
      // destroyed the client's socket, and on Node 22 the message still being compressed with it).
      assert.equal(await closeCode(fromSite.client, 5000), 1009);
      assert.deepEqual(received, [32 * 1024], 'the client got the message under the limit, not the one over it');

      const fromClient = await relayedSocketPair(proxy, false);
      pairs.push(fromClient);
      let reachedSite = 0;
      fromClient.siteSocket.on('message', () => reachedSite++);
      const closed = closeCode(fromClient.client, 5000);
      fromClient.client.send(Buffer.alloc(128 * 1024));
      assert.deepEqual({ code: await closed, reachedSite }, { code: 1009, reachedSite: 0 });
    } finally {
      for (const { client, site } of pairs) {
        client.terminate();
        site.close();
      }
      await proxy.stop();
    }
  });

  it("holds the client's messages to maxClientMessageBytes, and still relays the site's larger ones", async () => {
    const proxy = getLocal({ recordTraffic: false });
    await proxy.start();
    await proxy.forAnyWebSocket().thenPassThrough({ maxClientMessageBytes: 64 * 1024 });
    const pair = await relayedSocketPair(proxy, false);
    try {
      const received: number[] = [];
      pair.client.on('message', (data: Buffer) => received.push(data.length));
      pair.siteSocket.send(Buffer.alloc(512 * 1024));
      pair.siteSocket.send('end');
      await new Promise<void>((resolve) => pair.client.on('message', (data: Buffer) => String(data) === 'end' && resolve()));
      assert.deepEqual(received, [512 * 1024, 3]);
      const closed = closeCode(pair.client, 5000);
      pair.client.send(Buffer.alloc(128 * 1024));
      assert.equal(await closed, 1009);
    } finally {
      pair.client.terminate();
      pair.site.close();
      await proxy.stop();
    }
  });
});

describe('mockttp patch: websocket-total-limit', () => {
  type Pair = Awaited<ReturnType<typeof relayedSocketPair>>;
  /** Three relayed socket pairs through a proxy whose sockets share `total` (1 MiB unless given). */
  async function withThreePairs(deflate: boolean, body: (pairs: [Pair, Pair, Pair], proxy: Mockttp) => Promise<void>, total = MiB): Promise<void> {
    const proxy = getLocal({ recordTraffic: false });
    await proxy.start();
    await proxy.forAnyWebSocket().thenPassThrough({ maxTotalMessageBytes: total });
    const pairs: Pair[] = [];
    try {
      for (let i = 0; i < 3; i += 1) pairs.push(await relayedSocketPair(proxy, deflate));
      await body(pairs as [Pair, Pair, Pair], proxy);
    } finally {
      for (const { client, site } of pairs) {
        client.terminate();
        site.close();
      }
      await proxy.stop();
    }
  }

  it('shares maxTotalMessageBytes between the sockets holding a large unfinished message: one that joins closes those past their new share, and small messages pass', () =>
    withThreePairs(true, async ([first, second, third]) => {
      // Alone, the first may hold 700 KiB of a message that has not ended (the whole total is its share).
      first.siteSocket.send(Buffer.alloc(700 * 1024), { fin: false, binary: true, compress: true });
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(await closeCode(first.client, 200), 'still open');
      // A second large message halves the shares: the first is past 512 KiB and goes.
      second.siteSocket.send(Buffer.alloc(400 * 1024), { fin: false, binary: true, compress: true });
      assert.equal(await closeCode(first.client, 5000), 1009);
      assert.equal(await closeCode(second.client, 300), 'still open');
      // A large message that ends gives its share back, and small messages take none.
      const ended = new Promise<number>((resolve) => second.client.once('message', (data: Buffer) => resolve(data.length)));
      second.siteSocket.send(Buffer.alloc(1), { fin: true, binary: true, compress: true });
      assert.equal(await ended, 400 * 1024 + 1);
      const received: number[] = [];
      const all = new Promise<void>((resolve) => third.client.on('message', (data: Buffer) => received.push(data.length) === 21 && resolve()));
      for (let i = 0; i < 20; i += 1) third.siteSocket.send(Buffer.alloc(16 * 1024));
      third.siteSocket.send(Buffer.alloc(900 * 1024), { compress: true });
      assert.equal(await Promise.race([all.then(() => 'all'), closeCode(third.client, 5000)]), 'all');
      assert.equal(received.at(-1), 900 * 1024);
    }));

  it('never counts a closed socket again, though a send it made is written after its close', () =>
    withThreePairs(true, async ([leaving, , next]) => {
      // A message still being compressed for the page when its site goes away, half-way through
      // the next one: the write finishing after the close put the site's side back into the count
      // for good, and its unfinished 300 KiB halved every later share.
      const delivered = new Promise<number>((resolve) => leaving.client.once('message', (data: Buffer) => resolve(data.length)));
      leaving.siteSocket.send(randomBytes(600 * 1024), { binary: true, compress: false });
      leaving.siteSocket.send(Buffer.alloc(300 * 1024), { fin: false, binary: true, compress: false }, () => leaving.siteSocket.terminate());
      assert.equal(await Promise.race([delivered, closeCode(leaving.client, 5000)]), 600 * 1024);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const got = new Promise<number>((resolve) => next.client.once('message', (data: Buffer) => resolve(data.length)));
      next.siteSocket.send(Buffer.alloc(900 * 1024), { compress: true });
      assert.equal(await Promise.race([got, closeCode(next.client, 5000)]), 900 * 1024);
      // The whole total, and no more, is what a socket alone may hold.
      const closed = closeCode(next.client, 5000);
      next.siteSocket.send(Buffer.alloc(1100 * 1024), { compress: true });
      assert.equal(await closed, 1009);
    }));

  it('counts each part a message is kept in, and a length announced and not sent takes no share', () =>
    withThreePairs(false, async ([announcing, legit, fragmenting]) => {
      const siteRaw = (pair: Pair) => (pair.siteSocket as unknown as { _socket: Socket })._socket;
      // A frame head announcing 900 KiB, and nothing after it: it holds nothing, so it takes no
      // share, and a 600 KiB message on another socket still passes (a share of half was 512 KiB).
      siteRaw(announcing).write(Buffer.from([0x82, 127, 0, 0, 0, 0, 0, 0x0e, 0x10, 0x00]));
      const got = new Promise<number>((resolve) => legit.client.once('message', (data: Buffer) => resolve(data.length)));
      await new Promise((resolve) => setTimeout(resolve, 100));
      legit.siteSocket.send(Buffer.alloc(600 * 1024));
      assert.equal(await got, 600 * 1024);
      // 10,000 one-byte fragments count 10 KB of payload, but ws keeps each in a buffer of its own: ~1.3 MB counted.
      const fragments = Buffer.alloc(10_000 * 3);
      for (let k = 0; k < 10_000; k += 1) fragments.set([k === 0 ? 0x02 : 0x00, 1, 0x41], k * 3);
      const closed = closeCode(fragmenting.client, 5000);
      siteRaw(fragmenting).write(fragments);
      assert.equal(await closed, 1009);
    }));

  /** Keeps the proxy's zlib from inflating compressed frames of `bytes` or more until release(); arrived() resolves as the next one is handed over. */
  function holdInflation(bytes: number): { arrived: () => Promise<void>; release: () => void } {
    type Decompress = (this: unknown, data: Buffer, ...rest: unknown[]) => void;
    const { prototype } = (createRequire(createRequire(import.meta.url).resolve('mockttp'))('ws') as { PerMessageDeflate: { prototype: { decompress: Decompress } } }).PerMessageDeflate;
    const decompress = prototype.decompress;
    const held: Array<() => void> = [];
    let handedOver = () => {};
    prototype.decompress = function (data, ...rest) {
      if (data.length < bytes) return decompress.call(this, data, ...rest);
      held.push(() => decompress.call(this, data, ...rest));
      handedOver();
    };
    return {
      arrived: () => new Promise<void>((resolve) => (handedOver = resolve)),
      release: () => {
        prototype.decompress = decompress;
        for (const inflate of held.splice(0)) inflate();
      },
    };
  }

  it('counts a compressed frame while zlib has it: sockets whose frames inflate to nothing are closed past their share', () =>
    withThreePairs(true, async (pairs) => {
      // Empty fixed-Huffman blocks (4 in 5 bytes) inflate to nothing, and slowly (60 MiB: 1.2 s). A frame
      // of them had left ws's buffers and counted nothing while zlib had it, so socket after socket
      // held one as large as the whole total (16 sockets held 130 MiB of an 8 MiB total, none closed).
      // Here zlib is held on each frame, as a larger frame or a busier machine holds it, so the test
      // does not depend on how fast zlib is.
      const frame = 800 * 1024; // past half the total, the share of two sockets; within the whole
      const blocks = Buffer.alloc(frame);
      for (let at = 0; at < frame; at += 5) blocks.set([0x02, 0x08, 0x20, 0x80, 0x00], at);
      const head = Buffer.from([0x42, 127, 0, 0, 0, 0, 0, 0, 0, 0]); // binary, compressed, not final
      head.writeUInt32BE(frame, 6);
      const closed = pairs.map((pair) => closeCode(pair.client, 5000));
      const zlib = holdInflation(frame);
      try {
        // One socket after another, each once zlib has the frame before it.
        for (const [index, pair] of pairs.entries()) {
          const arrived = zlib.arrived();
          (pair.siteSocket as unknown as { _socket: Socket })._socket.write(Buffer.concat([head, blocks]));
          await Promise.race([arrived, closed[index]]);
        }
        // Each socket that began a frame closed the one before it, whose frame zlib still had; the last holds its own.
        assert.deepEqual([await closed[0], await closed[1], await Promise.race([closed[2], sleep(300, 'still open')])], [1009, 1009, 'still open']);
      } finally {
        zlib.release();
      }
    }));

  it("terminates a page's socket that stopped reading when its site's socket is cut off, where a close would wait behind what is queued for the page", async () => {
    // A message larger than the kernel's socket buffers can take waits in the proxy for a page that
    // does not read. The total lets one socket hold it, not two: a second socket beginning a message
    // cuts the first off. A close frame to the page went behind the queued message, and ws gives a
    // close 30 s before it destroys the socket: until then the proxy held the message.
    const message = (await kernelSocketBufferMost()) + 4 * MiB;
    await withThreePairs(false, async ([parked, joining], proxy) => {
      let received = 0;
      parked.client.on('message', () => (received += 1));
      const pageClosed = closeCode(parked.client, 15_000);
      parked.client.pause();
      const relayed = gate();
      await proxy.on('websocket-message-sent', (event) => event.content.length === message && relayed.open());
      parked.siteSocket.send(Buffer.alloc(message), { binary: true });
      await relayed.promise;
      joining.siteSocket.send(Buffer.alloc(MiB), { binary: true });
      assert.equal(await closeCode(parked.siteSocket, 5000), 1006, "the first site's socket was not cut off");
      // The page reads again: its socket ended at the cut-off, without the message still queued for it.
      parked.client.resume();
      assert.deepEqual({ code: await pageClosed, received }, { code: 1006, received: 0 });
    }, message + MiB);
  });

  it('lets go of a closed socket whose page went away while the proxy was compressing what it sent', () =>
    withThreePairs(true, async ([leaving, , next]) => {
      // ws calls back the sends it was compressing for a page whose socket is destroyed before it
      // marks that socket closed, and leaves them in its count: the site's side, closed already,
      // stayed counted for good, and every later share was smaller for every site (helper-91).
      const siteClosed = closeCode(leaving.siteSocket, 10_000);
      leaving.siteSocket.send(randomBytes(16 * MiB), { binary: true, compress: false });
      leaving.siteSocket.close(1000);
      assert.equal(await siteClosed, 1000);
      // Random bytes: the proxy is still compressing them for the page.
      (leaving.client as unknown as { _socket: Socket })._socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      // Alone, a socket may hold the whole total: more than half of it passes.
      const got = new Promise<number>((resolve) => next.client.once('message', (data: Buffer) => resolve(data.length)));
      next.siteSocket.send(Buffer.alloc(24 * MiB), { binary: true, compress: false });
      assert.equal(await Promise.race([got, closeCode(next.client, 10_000)]), 24 * MiB);
      // And no more than the total.
      const closed = closeCode(next.client, 10_000);
      next.siteSocket.send(Buffer.alloc(40 * MiB), { binary: true, compress: false });
      assert.equal(await closed, 1009);
    }, 32 * MiB));

  it("keeps counting what a socket ended by ws's own limit sent on while it waits for a page that stopped reading: the next socket to hold a message terminates that page's socket", () =>
    withThreePairs(false, async ([parked, joining]) => {
      // ws itself ends a side whose frame announces more than its share leaves (or that comes in too
      // many parts), and the page gets a close behind what is queued for it. That side left the count
      // at once, its queued message with it: socket after socket, the proxy held 4.7 MiB of a 1 MiB
      // total for 30 s (helper-89). Here the site sends 600 KiB messages to a page that does not
      // read: once the kernel's buffers are full, one waits in the proxy, and the next one's frame
      // announces more than the total leaves beside it.
      const pageClosed = closeCode(parked.client, 15_000);
      parked.client.pause();
      const siteClosed = closeCode(parked.siteSocket, 10_000);
      const messages = Math.ceil(((await kernelSocketBufferMost()) + 4 * MiB) / (600 * 1024));
      for (let i = 0; i < messages; i += 1) parked.siteSocket.send(Buffer.alloc(600 * 1024), { binary: true });
      assert.equal(await siteClosed, 1009, "ws's limit did not end the first site's socket");
      joining.siteSocket.send(Buffer.alloc(MiB), { binary: true });
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The page reads again: what the kernel holds, then its socket's end, without a close frame
      // (one waited behind the message still queued in the proxy).
      parked.client.resume();
      assert.equal(await pageClosed, 1006);
    }));
});

describe('mockttp patch: ws-capture-head', () => {
  it("keeps only the head of a site's refusal of a WebSocket, however long its body, while the client reads it", async () => {
    const bodyBytes = 16 * MiB;
    const site = createNetServer((socket) => {
      socket.once('data', () => {
        socket.write(`HTTP/1.1 403 Forbidden\r\ncontent-length: ${bodyBytes}\r\n\r\n`);
        pump(socket, bodyBytes);
      });
    });
    site.listen(0, '127.0.0.1');
    await once(site, 'listening');
    const sitePort = (site.address() as AddressInfo).port;
    const proxy = getLocal({ recordTraffic: false });
    await proxy.start();
    await proxy.forAnyWebSocket().thenPassThrough();
    // Half-open allowed: the client does not close when the refusal ends, so the connection stays open.
    const client = netConnect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true });
    try {
      const before = await retainedBuffers();
      let received = '';
      let bytes = 0;
      await new Promise<void>((resolve) => {
        client.on('data', (data: Buffer) => {
          if (received.length < 64) received += data.toString('latin1');
          if ((bytes += data.byteLength) >= bodyBytes) resolve();
        });
        client.write(`GET /socket HTTP/1.1\r\nhost: 127.0.0.1:${sitePort}\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
      });
      assert.match(received, /^HTTP\/1\.1 403 /);
      // The connection is still open: what the proxy kept of the refusal is still held.
      const kept = ((await retainedBuffers()) - before) / MiB;
      assert.ok(kept < 1, `the proxy kept ${kept.toFixed(1)} MiB of a ${bodyBytes / MiB} MiB refusal`);
    } finally {
      client.destroy();
      site.close();
      await proxy.stop();
    }
  });
});

describe('mockttp patch: port-probe-expiry', () => {
  it('forgets a localhost port probe once its result expired: probing many ports keeps nothing', async () => {
    // Each localhost port a page requests is probed (is something listening on ::1 too?), and
    // the result was kept for good, however many ports (~150 bytes each). Results expire after 5 s;
    // the ports stay below Linux's ephemeral range, so no test's own connections meet the probes.
    collectGarbage();
    const before = getHeapStatistics().used_heap_size;
    for (let port = 10_000; port < 32_000; port++) await isLocalPortActive('127.0.0.1', port);
    await new Promise((resolve) => setTimeout(resolve, 5_500));
    collectGarbage();
    const grown = (getHeapStatistics().used_heap_size - before) / MiB;
    assert.ok(grown < 1, `the heap kept ${grown.toFixed(2)} MiB after 22,000 expired probes`);
  });
});

describe('mockttp patch: raw-upstream-body', () => {
  const BIG = 24 * MiB;
  const BODY = randomBytes(BIG);
  const SMALL = 2 * MiB;
  let proxy: Mockttp;
  let upstream: { server: Server; url: string };
  let upstreamPort = 0;
  let connections = 0;
  /** Bytes that Node's HTTP parser was given from the proxy's connections to the site. */
  let parsed = 0;
  let restoreParser = () => {};

  before(async () => {
    upstream = await listen((request, response) => {
      const path = request.url ?? '/';
      if (path === '/overlong') {
        // A site that sends more than it declared: the rest is no part of this response.
        response.socket!.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${BIG}\r\n\r\n`), BODY, Buffer.from('HTTP/1.1 200 OK\r\n\r\njunk')]));
        return;
      }
      // A revalidation's 304 may repeat the length of the body it stands for, and has no body.
      if (path === '/not-modified') return void response.writeHead(304, { 'content-length': String(BIG) }).end();
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(path === '/small' ? SMALL : BIG) });
      if (path === '/dies') return void response.write(BODY.subarray(0, BIG / 2), () => setTimeout(() => response.socket?.destroy(), 20));
      response.end(path === '/small' ? BODY.subarray(0, SMALL) : BODY);
    });
    upstream.server.on('connection', () => (connections += 1));
    upstreamPort = Number(new URL(upstream.url).port);
    // Node's parser class, from a socket of its own client (the class is not exported).
    const probe = httpRequest(`${upstream.url}/small`).on('error', () => {});
    const [socket] = (await once(probe, 'socket')) as [Socket & { parser: { constructor: { prototype: { execute: (data: Buffer) => unknown } } } }];
    probe.destroy();
    const parser = socket.parser.constructor.prototype;
    const execute = parser.execute;
    parser.execute = function (this: { socket?: Socket }, data: Buffer) {
      if (this.socket?.remotePort === upstreamPort) parsed += data.length;
      return execute.call(this, data);
    };
    restoreParser = () => (parser.execute = execute);
    proxy = getLocal({ recordTraffic: false });
    await proxy.start();
    await proxy.forGet(`${upstream.url}/staged`).thenPassThrough({ transformResponseStream: () => ({ transform: () => new Transform({ transform: (chunk, _e, done) => done(null, chunk) }) }) });
    await proxy.forUnmatchedRequest().thenPassThrough();
  });

  after(async () => {
    restoreParser();
    await proxy.stop();
    upstream.server.closeAllConnections();
    upstream.server.close();
  });

  it("passes a big body of declared length from the site's socket to the client, past Node's parser, which copied every byte of it", async () => {
    const download = async (path: string) => {
      parsed = 0;
      const exchange = await viaProxy(proxy, `${upstream.url}${path}`);
      return { exchange, parsed };
    };
    // After such a body the connection to the site serves the next request, unless the site sent
    // more than it declared.
    for (const [path, reused] of [['/plain', true], ['/staged', true], ['/overlong', false]] as const) {
      const { exchange, parsed: bytes } = await download(path);
      assert.equal(exchange.status, 200, path);
      assert.ok(exchange.body.equals(BODY), `${path}: the body arrived byte for byte (${exchange.body.length} of ${BIG} bytes)`);
      assert.ok(bytes < MiB, `${path}: the parser was given ${(bytes / MiB).toFixed(1)} MiB of a ${BIG / MiB} MiB body`);
      const before = connections;
      assert.ok((await viaProxy(proxy, `${upstream.url}/small`)).body.equals(BODY.subarray(0, SMALL)), `${path}: the next body arrived whole`);
      assert.equal(connections - before, reused ? 0 : 1, `${path}: ${reused ? 'the next request reused the connection' : 'the next request took a new connection'}`);
    }
    // A site that breaks off such a body: the client's response is cut short, never complete.
    await assert.rejects(viaProxy(proxy, `${upstream.url}/dies`), /aborted|socket hang up|ECONNRESET/);
    // A smaller body goes through the parser as before, and its connection to the site is reused;
    // so is a 304's, which declared a big length for a body it does not have (helper-82).
    const before = connections;
    assert.equal((await viaProxy(proxy, `${upstream.url}/not-modified`)).status, 304);
    for (let i = 0; i < 2; i += 1) {
      const { exchange, parsed: bytes } = await download('/small');
      assert.ok(exchange.body.equals(BODY.subarray(0, SMALL)), 'the small body arrived byte for byte');
      assert.ok(bytes >= SMALL, 'the parser read the small body');
    }
    assert.equal(connections - before, 1, 'the 304 and both small bodies came over one connection to the site');
  });
});

describe('mockttp patch: loop-check', () => {
  // Socket ends as isSocketLoop reads them: [address, port] here and there.
  const socket = (local: [string, number], remote: [string, number]) => ({ localAddress: local[0], localPort: local[1], remoteAddress: remote[0], remotePort: remote[1] }) as Socket;

  it("takes a browser's connection that shares an ephemeral port with one of the proxy's own for what it is, not a loop", () => {
    // The proxy's socket to a site on :3000 and a browser's socket to the proxy on :8080, both
    // from 127.0.0.1:41000: Linux hands one ephemeral port to connections with different ends.
    const toSite = socket(['127.0.0.1', 41000], ['127.0.0.1', 3000]);
    const fromBrowser = socket(['127.0.0.1', 8080], ['127.0.0.1', 41000]);
    assert.equal(isSocketLoop(new Set([toSite]), fromBrowser), false);
    // A real loop: the proxy's socket to its own port, seen from both ends.
    const toItself = socket(['127.0.0.1', 41000], ['127.0.0.1', 8080]);
    assert.equal(isSocketLoop(new Set([toItself]), fromBrowser), true);
  });
});

/** A stage that passes nothing on until its input ends, then all of it. */
function holdUntilEnd(): Transform {
  const held: Buffer[] = [];
  return new Transform({
    transform: (chunk: Buffer, _encoding, done) => done(null, void held.push(chunk)),
    flush: (done) => done(null, Buffer.concat(held)),
  });
}
