/**
 * Checks our patch of mockttp (patches/mockttp+4.6.5.patch, see patches/README.md). Every test
 * here fails on an unpatched mockttp: run it after upgrading mockttp or re-creating the patch.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transform } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { getLocal, type Mockttp } from 'mockttp';

const MiB = 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 'x');

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

async function listen(handler: Handler): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Writes `bytes` in 64 KiB chunks, honouring backpressure, then ends; optionally halts halfway. */
function pump(target: NodeJS.WritableStream, bytes: number, halt?: { at: number; until: Promise<void> }): void {
  let sent = 0;
  const more = () => {
    while (sent < bytes) {
      if (halt && sent === halt.at) {
        halt.at = -1;
        return void halt.until.then(more);
      }
      sent += CHUNK.length;
      if (!target.write(CHUNK)) return void target.once('drain', more);
    }
    target.end();
  };
  more();
}

interface Exchange {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** Bytes received, for bodies too large to keep. */
  received: number;
}

/** One request through the proxy (absolute-form URL, as browsers send to an HTTP proxy). */
function viaProxy(
  proxy: Mockttp,
  url: string,
  options: { method?: string; upload?: number; haltUpload?: { at: number; until: Promise<void> }; keepBody?: boolean; onData?: (received: number) => void } = {},
): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = httpRequest({ host: '127.0.0.1', port: proxy.port, method: options.method ?? 'GET', path: url, headers: { host: target.host } }, (res) => {
      const chunks: Buffer[] = [];
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (options.keepBody !== false) chunks.push(chunk);
        options.onData?.(received);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), received }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (options.upload) pump(req, options.upload, options.haltUpload);
    else req.end();
  });
}

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Buffer memory still reachable: what a proxy keeps, not what it churns. V8 frees array buffers
 * on a background sweeper after a GC, so collect a few times and keep the lowest reading.
 */
async function retainedBuffers(): Promise<number> {
  let lowest = Infinity;
  for (let i = 0; i < 4; i += 1) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
    lowest = Math.min(lowest, process.memoryUsage().arrayBuffers);
  }
  return lowest;
}

/** A promise with its resolver, to halt a transfer halfway. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('mockttp patch: bodies are not retained (mockttp#209, #211)', () => {
  // Each transfer halts halfway; what the process then holds is what the proxy retained.
  const SIZE = 128 * MiB;
  const HALF = SIZE / 2;
  const LIMIT = 16 * MiB;
  let proxy: Mockttp;
  let upstream: { server: Server; url: string };
  let downloadGate = gate();
  let uploadHalfway = gate();

  before(async () => {
    upstream = await listen((request, response) => {
      if (request.method === 'POST') {
        let bytes = 0;
        request.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes === HALF) uploadHalfway.open();
        });
        request.on('end', () => response.end(String(bytes)));
        return;
      }
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

  it(`keeps no copy of a ${SIZE / MiB} MiB download passed through`, async (t) => {
    downloadGate = gate();
    const base = await retainedBuffers();
    let retained = 0;
    const exchange = await viaProxy(proxy, `${upstream.url}/big`, {
      keepBody: false,
      onData: (received) => {
        if (received !== HALF) return;
        void retainedBuffers().then((bytes) => {
          retained = bytes - base;
          downloadGate.open();
        });
      },
    });
    assert.equal(exchange.received, SIZE);
    t.diagnostic(`retained halfway: ${(retained / MiB).toFixed(1)} MiB`);
    assert.ok(retained < LIMIT, `${Math.round(retained / MiB)} MiB of the body retained halfway (limit ${LIMIT / MiB})`);
  });

  it(`keeps no copy of a ${SIZE / MiB} MiB upload passed through`, async (t) => {
    uploadHalfway = gate();
    const resume = gate();
    const base = await retainedBuffers();
    let retained = 0;
    void uploadHalfway.promise.then(async () => {
      retained = (await retainedBuffers()) - base;
      resume.open();
    });
    const exchange = await viaProxy(proxy, `${upstream.url}/upload`, { method: 'POST', upload: SIZE, haltUpload: { at: HALF, until: resume.promise } });
    assert.equal(exchange.body.toString(), String(SIZE));
    t.diagnostic(`retained halfway: ${(retained / MiB).toFixed(1)} MiB`);
    assert.ok(retained < LIMIT, `${Math.round(retained / MiB)} MiB of the body retained halfway (limit ${LIMIT / MiB})`);
  });
});

describe('mockttp patch: observers still see whole bodies', () => {
  it('gives request and response listeners the full bodies of a passthrough exchange', async () => {
    const upstream = await listen((request, response) => {
      request.resume();
      request.on('end', () => response.end('y'.repeat(300_000)));
    });
    const proxy = getLocal({ recordTraffic: false });
    await proxy.start();
    try {
      await proxy.forUnmatchedRequest().always().thenPassThrough();
      const requestBody = new Promise<number>((resolve) => void proxy.on('request', (request) => resolve(request.body.buffer.length)));
      const responseBody = new Promise<number>((resolve) => void proxy.on('response', (response) => resolve(response.body.buffer.length)));
      const exchange = await viaProxy(proxy, `${upstream.url}/echo`, { method: 'POST', upload: 10 * CHUNK.length });
      assert.equal(exchange.body.length, 300_000);
      assert.equal(await requestBody, 10 * CHUNK.length);
      assert.equal(await responseBody, 300_000);
    } finally {
      await proxy.stop();
      upstream.server.close();
    }
  });

  it('records the request bodies of a rule when recordTraffic is on', async () => {
    const upstream = await listen((request, response) => {
      request.resume();
      request.on('end', () => response.end('ok'));
    });
    const proxy = getLocal();
    await proxy.start();
    try {
      const endpoint = await proxy.forUnmatchedRequest().always().thenPassThrough();
      await viaProxy(proxy, `${upstream.url}/form`, { method: 'POST', upload: 3 * CHUNK.length });
      const [seen] = await endpoint.getSeenRequests();
      assert.equal(seen?.body.buffer.length, 3 * CHUNK.length);
    } finally {
      await proxy.stop();
      upstream.server.close();
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
      if (path === '/dies') {
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
    await proxy.forGet(`${upstream.url}/missing`).thenPassThrough({ transformResponseStream: () => undefined });
    const exchange = await viaProxy(proxy, `${upstream.url}/missing`);
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
    await proxy.forGet(`${upstream.url}/dies`).thenPassThrough({
      transformResponseStream: () => ({ transform: () => new Transform({ transform: (chunk, _e, done) => done(null, chunk) }) }),
    });
    await assert.rejects(viaProxy(proxy, `${upstream.url}/dies`), /aborted|socket hang up|ECONNRESET/);
  });

  it('refuses to be combined with beforeResponse', () => {
    assert.throws(
      () => proxy.forGet('/x').thenPassThrough({ beforeResponse: () => undefined, transformResponseStream: () => undefined }),
      /cannot be combined/,
    );
  });
});
