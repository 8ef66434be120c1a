/**
 * Security checklist 3 and 8 — the hostile web, from outside the browser: huge uploads to the
 * bridge and the API, and a local program that talks to the proxy as if it were a page (forged
 * Referer / Origin, no capability). Each test is the attack; the gateway must refuse it before
 * reading the body, keep its memory, and stay responsive. (Page-side attacks in real Chromium:
 * e2e/hostile-web.e2e.ts.)
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { Agent, createServer, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer, type ClientOptions } from 'ws';
import { PUBLIC_ROUTES } from '../../gateway/src/api/guard-requests.js';
import { REPO_ROOT, startGatewayProcess, type GatewayChild } from '../../e2e/support/gateway-process.js';
import { respond, startTestSite, type TestSite } from '../../e2e/support/test-site.js';
import { viaProxy } from '../support/proxy-exchange.js';
import { INSPECTABLE_ENV, retainedMemoryMb } from '../support/retained-memory.js';

const MiB = 1024 * 1024;
const UPLOAD_BYTES = 200 * MiB;

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

interface UploadOutcome {
  status: number;
  head: string;
  /** Body bytes this client had written when the answer arrived (or the connection ended). */
  sent: number;
}

/**
 * Sends one request on a raw socket and keeps writing `bodyBytes` of body (chunked when no
 * Content-Length is declared) until the server answers or closes: what a page's fetch() with a
 * huge body does, and what tells whether the server decided on the head or read everything.
 */
function upload(port: number, requestLine: string, headers: Record<string, string>, bodyBytes: number, options: { declareLength: boolean; pauseAfter?: number }): Promise<UploadOutcome> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: '127.0.0.1', port });
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    let sent = 0;
    let answer = '';
    let settled = false;
    let answered = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      socket.destroy();
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? 0);
      resolve({ status, head: answer.split('\r\n\r\n')[0] ?? '', sent });
    };
    socket.on('data', (data: Buffer) => {
      answer += data.toString('latin1');
      if (!answered && answer.includes('\r\n\r\n')) {
        answered = true; // stop sending at once, as a browser does; let a short body arrive too
        setTimeout(finish, 50);
      }
    });
    socket.on('close', finish);
    socket.on('error', () => finish());
    // Paused, the client sends nothing more: an answer that waited for the rest would never come
    // (or only when the gateway's request timeout ends the upload, 30 s or more).
    const idleMs = options.pauseAfter === undefined ? 120_000 : 10_000;
    socket.setTimeout(idleMs, () => reject(new Error(`no answer after ${idleMs / 1000} s without traffic (${sent} bytes sent)`)));
    const head = [requestLine, ...Object.entries({ ...headers, ...(options.declareLength ? { 'content-length': String(bodyBytes) } : { 'transfer-encoding': 'chunked' }) }).map(([name, value]) => `${name}: ${value}`)].join('\r\n');
    socket.write(`${head}\r\n\r\n`);
    const pump = () => {
      // With `pauseAfter`, the rest of the body never comes: an answer then cannot have waited for it.
      const limit = Math.min(bodyBytes, options.pauseAfter ?? bodyBytes);
      while (!answered && !settled && sent < limit) {
        const piece = chunk.subarray(0, Math.min(chunk.byteLength, limit - sent));
        sent += piece.byteLength;
        const framed = options.declareLength ? piece : Buffer.concat([Buffer.from(`${piece.byteLength.toString(16)}\r\n`), piece, Buffer.from('\r\n')]);
        if (!socket.write(framed)) return void socket.once('drain', pump);
      }
      if (!answered && !settled && !options.declareLength && sent === bodyBytes) socket.write('0\r\n\r\n');
    };
    pump();
  });
}

/** A raw proxy request in absolute form, as an HTTP proxy client (or another local program) sends it. */
function rawProxyRequest(proxyPort: number, lines: string[], body = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: proxyPort });
    let answer = '';
    socket.on('data', (data: Buffer) => {
      answer += data.toString('latin1');
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
    socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
    setTimeout(() => socket.end(), 1500);
  });
}

/** A plain-HTTP request sent inside a CONNECT tunnel to `target`, as an HTTP proxy client may send one. */
function tunnelledRequest(proxyPort: number, target: string, lines: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: proxyPort });
    let answer = '';
    let tunnelled = false;
    socket.on('data', (data: Buffer) => {
      answer += data.toString('latin1');
      if (tunnelled || !answer.includes('\r\n\r\n')) return;
      tunnelled = true;
      if (!/^HTTP\/1\.1 200 /.test(answer)) {
        socket.destroy();
        reject(new Error(`the proxy refused the tunnel: ${answer.slice(0, 200)}`));
        return;
      }
      answer = '';
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
    socket.on('error', reject);
    // The request says `connection: close`: the answer ends with the connection.
    socket.on('close', () => resolve(answer));
    socket.write(`CONNECT ${target} HTTP/1.1\r\nhost: ${target}\r\n\r\n`);
    socket.setTimeout(15_000, () => socket.destroy());
  });
}

let gateway: GatewayChild;
let site: TestSite;
let token: string;

before(async () => {
  // Plain HTTP, so that a raw socket can speak to the proxy the way a local program would.
  site = await startTestSite({ '/': respond(200, { 'content-type': 'text/html' }, '<!doctype html><html><head><title>t</title></head><body>hi</body></html>') }, { https: false });
  gateway = await startGatewayProcess({ args: ['--plugins-dir', join(REPO_ROOT, 'e2e/fixtures/hostile-plugins')], env: INSPECTABLE_ENV });
  token = await gateway.token();
});
after(async () => {
  await gateway?.stop();
  await site?.close();
});

/** What page JavaScript finds in its own document: the bridge base in the runtime's (inline) config. */
async function pageBridgeBase(): Promise<string> {
  const html = await rawProxyRequest(gateway.ready.proxyPort, [`GET ${site.origin}/ HTTP/1.1`, `host: localhost:${site.port}`, 'accept: text/html', 'sec-fetch-dest: document', 'sec-fetch-mode: navigate', 'connection: close']);
  const base = /<script[^>]* data-aiplugs="runtime">[\s\S]*?(\/__aiplugs\/cap\/[A-Za-z0-9_.-]+)/.exec(html)?.[1];
  assert.ok(base, `no bridge base in the injected runtime:\n${html.slice(0, 2000)}`);
  return base;
}

describe('bodies are refused on their head, never buffered', () => {
  it('a page uploading 200 MB to the bridge gets 413 at once, and the gateway keeps its memory', async () => {
    const base = await pageBridgeBase();
    const uploads = () =>
      Promise.all(
        [true, false, true, false].map((declareLength) =>
          upload(
            gateway.ready.proxyPort,
            `POST ${site.origin}${base}/api/plugins/guarded/infer HTTP/1.1`,
            { host: `localhost:${site.port}`, 'content-type': 'application/json', referer: `${site.origin}/`, origin: site.origin },
            UPLOAD_BYTES,
            // All of a declared body's answer comes on its head; a chunked one is read up to the cap (8 MiB).
            { declareLength, pauseAfter: declareLength ? MiB : 16 * MiB },
          ),
        ),
      );
    // A warm-up round first: a fresh gateway's heap and allocator grow once on their first uploads
    // (65 MB once in CI, measured from a cold start); buffering the bodies would grow it by 800.
    await uploads();
    const before = await rssMb(gateway.pid);
    const outcomes = await uploads();
    for (const outcome of outcomes) {
      assert.equal(outcome.status, 413, outcome.head);
      assert.ok(outcome.sent < 64 * MiB, `the gateway read ${outcome.sent} bytes before answering`);
    }
    const grown = (await rssMb(gateway.pid)) - before;
    assert.ok(grown < 64, `gateway RSS grew by ${grown.toFixed(0)} MB`);
    const health = await fetch(`${gateway.ready.apiUrl}/api/health`);
    assert.equal(health.status, 200);
  });

  it('the API refuses an over-cap body with 413 before reading it, even with the token', async () => {
    const before = await rssMb(gateway.pid);
    const outcome = await upload(gateway.ready.apiPort, 'POST /api/plugins/guarded/infer HTTP/1.1', { host: `127.0.0.1:${gateway.ready.apiPort}`, authorization: `Bearer ${token}`, 'content-type': 'application/json' }, UPLOAD_BYTES, { declareLength: false, pauseAfter: 16 * MiB });
    assert.equal(outcome.status, 413, outcome.head);
    assert.ok(outcome.sent < 64 * MiB, `the API read ${outcome.sent} bytes before answering`);
    assert.ok((await rssMb(gateway.pid)) - before < 64);
  });

  it('unauthenticated routes take only tiny bodies, declared or not', async () => {
    const posts = [...PUBLIC_ROUTES].filter((route) => route.startsWith('POST '));
    assert.ok(posts.length >= 3, `public POST routes: ${posts.join(', ')}`);
    for (const route of posts) {
      for (const declareLength of [true, false]) {
        const outcome = await upload(gateway.ready.apiPort, `${route} HTTP/1.1`, { host: `127.0.0.1:${gateway.ready.apiPort}`, 'content-type': 'application/json' }, 8 * MiB, { declareLength, pauseAfter: MiB });
        assert.equal(outcome.status, 413, `${route} (${declareLength ? 'declared' : 'chunked'}): ${outcome.head}`);
        assert.ok(outcome.sent <= MiB, `${route} read ${outcome.sent} bytes before answering`);
      }
    }
  });

  it('a caller without the token is refused before its body is read', async () => {
    // 1 MiB of a declared 200 MiB, then nothing: the 401 must not wait for the rest. (How much a
    // client gets to send before it reads the answer is a race on a loaded machine.)
    const outcome = await upload(gateway.ready.apiPort, 'POST /api/plugins/guarded/infer HTTP/1.1', { host: `127.0.0.1:${gateway.ready.apiPort}`, 'content-type': 'application/json' }, UPLOAD_BYTES, { declareLength: true, pauseAfter: MiB });
    assert.equal(outcome.status, 401, outcome.head);
    assert.ok(outcome.sent <= MiB);
  });
});

describe('a local program posing as a page', () => {
  const forged = (path: string) => [
    `POST ${site.origin}/__aiplugs${path} HTTP/1.1`,
    `host: localhost:${site.port}`,
    `referer: ${site.origin}/`,
    `origin: ${site.origin}`,
    'content-type: application/json',
    'content-length: 13',
    'connection: close',
  ];

  it('cannot call an injected plugin with a forged Referer and Origin', async () => {
    const answer = await rawProxyRequest(gateway.ready.proxyPort, forged('/api/plugins/guarded/infer'), '{"payload":1}');
    assert.match(answer, /^HTTP\/1\.1 403 /, answer.slice(0, 300));
    assert.doesNotMatch(answer, /"echo"/);
  });

  it("cannot read a plugin's files with a forged Referer", async () => {
    const answer = await rawProxyRequest(gateway.ready.proxyPort, [`GET ${site.origin}/__aiplugs/api/plugins/guarded/files/content.js HTTP/1.1`, `host: localhost:${site.port}`, `referer: ${site.origin}/`, 'connection: close']);
    assert.match(answer, /^HTTP\/1\.1 403 /, answer.slice(0, 300));
  });

  it("cannot open a plugin socket with a forged Origin", async () => {
    const answer = await rawProxyRequest(gateway.ready.proxyPort, [
      `GET ${site.origin}/__aiplugs/ws?plugin_id=guarded&client_id=attacker HTTP/1.1`,
      `host: localhost:${site.port}`,
      `origin: ${site.origin}`,
      'connection: Upgrade',
      'upgrade: websocket',
      'sec-websocket-version: 13',
      'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==',
    ]);
    assert.doesNotMatch(answer, /"type":"hello"/, answer.slice(0, 300));
  });

  it('cannot name, inside a tunnel to an IP address, a site its server is not', async () => {
    // A tunnel to an IP address let the Host header name the page's site: a local program's own
    // server (127.0.0.2 here) got the plugins of localhost's pages injected into its HTML, with a
    // capability for http://localhost:<port>, an origin it is not. Browsers open tunnels by name.
    let reached = 0;
    const own = createServer((_request, response) => {
      reached += 1;
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<!doctype html><html><head><title>mine</title></head><body>mine</body></html>');
    });
    own.listen(0, '127.0.0.2');
    await once(own, 'listening');
    const { port } = own.address() as AddressInfo;
    try {
      const answer = await tunnelledRequest(gateway.ready.proxyPort, `127.0.0.2:${port}`, ['GET / HTTP/1.1', `host: localhost:${port}`, 'accept: text/html', 'sec-fetch-dest: document', 'sec-fetch-mode: navigate', 'connection: close']);
      assert.doesNotMatch(answer, /data-aiplugs="runtime"/, answer.slice(0, 2000));
      assert.match(answer, /^HTTP\/1\.1 421 /, answer.slice(0, 300));
      assert.equal(reached, 0, 'the request went no further');
      // The same server, named as it is, is a page like any other.
      const named = await tunnelledRequest(gateway.ready.proxyPort, `127.0.0.2:${port}`, ['GET / HTTP/1.1', `host: 127.0.0.2:${port}`, 'accept: text/html', 'connection: close']);
      assert.match(named, /^HTTP\/1\.1 200 [\s\S]*<body>mine<\/body>/, named.slice(0, 300));
    } finally {
      own.close();
    }
  });

  it('cannot use a capability minted for another site', async () => {
    const base = await pageBridgeBase();
    const other = await startTestSite({}, { https: false });
    try {
      const answer = await rawProxyRequest(gateway.ready.proxyPort, [`GET ${other.origin}${base}/api/plugins/guarded/files/content.js HTTP/1.1`, `host: localhost:${other.port}`, 'connection: close']);
      assert.match(answer, /^HTTP\/1\.1 403 /, answer.slice(0, 300));
    } finally {
      await other.close();
    }
  });
});

describe('memory a page cannot grow', () => {
  it('ten thousand requests for URLs of 12 KB, each new, leave the gateway with the memory it had', async () => {
    // A page can make its browser request any number of distinct URLs (fetch, img, script), and
    // every one passes the proxy. Nothing the proxy keeps may grow with their number: 10,000
    // such URLs kept would be over 120 MB. Measured after a full collection (RSS counted how far
    // the heap grew on the way: 3 to 59 MB for the same run on two machines), and after a first
    // round, so that what is made once (a connection's, a lazily built matcher's) is not counted.
    const padding = 'q'.repeat(12 * 1024);
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const requestDistinct = async (count: number, round: string) => {
      let next = 0;
      const lane = async () => {
        while (next < count) {
          const { status } = await viaProxy({ port: gateway.ready.proxyPort }, `${site.origin}/?${round}=${next++}&${padding}`, { agent, keepBody: false });
          assert.equal(status, 200);
        }
      };
      await Promise.all(Array.from({ length: 8 }, lane));
    };
    try {
      await requestDistinct(5_000, 'warm');
      const before = await retainedMemoryMb(gateway.pid, gateway.log);
      await requestDistinct(10_000, 'measured');
      const grown = (await retainedMemoryMb(gateway.pid, gateway.log)) - before;
      assert.ok(grown < 16, `the gateway keeps ${grown.toFixed(1)} MB more after 10,000 more distinct URLs`);
    } finally {
      agent.destroy();
    }
  });
  it("documents whose heads never end hold back at most 32 documents' worth together: the rest stream on", async () => {
    // Each document opens a comment before <head> and never closes it: its head may still come, so
    // each held up to proxy.max_head_bytes (1 MiB), and a local program (or a site's many frames)
    // opening 128 of them grew the gateway by ~1 MiB each.
    const BYTES_PER_DOCUMENT = 900 * 1024;
    const DOCUMENTS = 128;
    const heads = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.write('<!doctype html><html><!-- ');
      const piece = 'a'.repeat(64 * 1024);
      for (let sent = 0; sent < BYTES_PER_DOCUMENT; sent += piece.length) response.write(piece);
      // …and nothing more for as long as the test runs.
    });
    heads.listen(0, '127.0.0.1');
    await once(heads, 'listening');
    const port = (heads.address() as AddressInfo).port;
    const sockets: Socket[] = [];
    try {
      let received = 0;
      for (let document = 0; document < DOCUMENTS; document += 1) {
        const socket = connect({ host: '127.0.0.1', port: gateway.ready.proxyPort });
        socket.on('data', (data: Buffer) => (received += data.length));
        socket.on('error', () => undefined);
        socket.write(`GET http://localhost:${port}/d${document} HTTP/1.1\r\nhost: localhost:${port}\r\naccept: text/html\r\nsec-fetch-dest: document\r\nsec-fetch-mode: navigate\r\n\r\n`);
        sockets.push(socket);
      }
      // What does not reach its reader is held in the gateway: all of it was, before the cap.
      const expected = (DOCUMENTS - 32) * BYTES_PER_DOCUMENT;
      for (let wait = 0; wait < 200 && received < expected; wait += 1) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.ok(received >= expected, `the documents over the cap streamed on: ${(received / MiB).toFixed(0)} MiB of ${(expected / MiB).toFixed(0)} arrived`);
    } finally {
      for (const socket of sockets) socket.destroy();
      heads.closeAllConnections();
      heads.close();
    }
  });

  it('a site flooding a WebSocket whose page stopped reading does not fill the gateway', async () => {
    // A frozen or busy tab stops reading its socket; the site goes on sending. The proxy must
    // stop reading the site too, not hold what the page does not take (~65 MB/s it used to).
    const wsSite = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wsSite, 'listening');
    const port = (wsSite.address() as AddressInfo).port;
    const message = randomBytes(64 * 1024);
    wsSite.on('connection', (socket) => {
      const flood = () => {
        while (socket.readyState === WebSocket.OPEN && socket.bufferedAmount < MiB) socket.send(message);
        if (socket.readyState === WebSocket.OPEN) setTimeout(flood, 5);
      };
      flood();
    });
    const client = new WebSocket(`ws://localhost:${port}/`, { perMessageDeflate: false, createConnection: () => connect(gateway.ready.proxyPort, '127.0.0.1') } as ClientOptions);
    let messages = 0;
    client.on('message', () => (messages++, client.pause()));
    try {
      await once(client, 'open');
      const before = await rssMb(gateway.pid);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const grown = (await rssMb(gateway.pid)) - before;
      assert.ok(messages > 0, 'the flood reached the page');
      assert.ok(grown < 48, `gateway RSS grew by ${grown.toFixed(0)} MB in 3 s of a flood nobody read`);
    } finally {
      client.terminate();
      for (const socket of wsSite.clients) socket.terminate();
      wsSite.close();
    }
  });
  it("sites' WebSockets each half-way through a huge message hold no more than the budget together", async () => {
    // One message is held to proxy.max_websocket_message_bytes (100 MiB), but the proxy assembles
    // each message whole, and nothing bounded the sum over sockets: a site whose page opens eight
    // sockets and starts a 60 MiB message on each (compressed, so it costs the site ~60 KiB a
    // socket) grew the gateway by ~960 MB. Now the sockets holding a large unfinished message share
    // proxy.max_websocket_total_bytes (64 MiB): eight get 8 MiB each, and only one alone may hold 60 MiB.
    const SOCKETS = 8;
    const wsSite = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: true });
    await once(wsSite, 'listening');
    const port = (wsSite.address() as AddressInfo).port;
    const fragment = Buffer.alloc(60 * MiB);
    // The first fragment of a message that never ends.
    wsSite.on('connection', (socket) => socket.send(fragment, { fin: false, compress: true, binary: true }));
    const before = await rssMb(gateway.pid);
    let peak = before;
    const sampling = setInterval(() => void rssMb(gateway.pid).then((mb) => (peak = Math.max(peak, mb))), 50);
    const codes: number[] = [];
    const clients = Array.from({ length: SOCKETS }, () => new WebSocket(`ws://localhost:${port}/`, { createConnection: () => connect(gateway.ready.proxyPort, '127.0.0.1') } as ClientOptions));
    for (const client of clients) client.once('close', (code) => codes.push(code));
    try {
      for (let wait = 0; wait < 100 && codes.length < SOCKETS - 1; wait += 1) await new Promise((resolve) => setTimeout(resolve, 100));
      await new Promise((resolve) => setTimeout(resolve, 500));
      clearInterval(sampling);
      peak = Math.max(peak, await rssMb(gateway.pid));
      assert.ok(peak - before < 200, `gateway RSS grew by ${(peak - before).toFixed(0)} MB holding ${SOCKETS} unfinished messages`);
      assert.ok(codes.length >= SOCKETS - 1 && codes.every((code) => code === 1009), `sockets closed: ${codes.join(', ') || 'none'} (each as "message too big", all but one at most)`);
    } finally {
      clearInterval(sampling);
      for (const client of clients) client.terminate();
      for (const socket of wsSite.clients) socket.terminate();
      wsSite.close();
    }
  });
});

describe('a site refusing a WebSocket', () => {
  it("does not make the proxy keep the refusal's body while a local program reads it", async () => {
    // A site may answer an upgrade with any status and stream any body after it; the proxy sends
    // it on, and must not also keep what it sent (mockttp kept all of it, copied whole on every
    // write, until the connection closed). Chromium closes on a refusal; a local program reads on.
    const bodyBytes = 48 * MiB;
    /** Writes the body after a head, as fast as the proxy takes it. */
    const sendBody = (socket: Writable) => {
      const piece = Buffer.alloc(64 * 1024, 0x62);
      let written = 0;
      const pump = () => {
        while (written < bodyBytes) {
          written += piece.byteLength;
          if (!socket.write(piece)) return void socket.once('drain', pump);
        }
        if (socket instanceof ServerResponse) socket.end();
      };
      pump();
    };
    // The same bytes as a plain download: what relaying at this rate costs anyway.
    const refusing = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bodyBytes });
      sendBody(response);
    });
    refusing.on('upgrade', (_request, socket: Socket) => {
      socket.write(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/octet-stream\r\ncontent-length: ${bodyBytes}\r\n\r\n`);
      sendBody(socket);
    });
    refusing.listen(0, '127.0.0.1');
    await once(refusing, 'listening');
    const sitePort = (refusing.address() as AddressInfo).port;
    /** Reads a whole refusal and resolves with the connection still open. */
    const readRefusal = async () => {
      // Half-open allowed: the reader does not close when the refusal ends, so the connection stays open.
      const reader = connect({ port: gateway.ready.proxyPort, host: '127.0.0.1', allowHalfOpen: true });
      let received = 0;
      await new Promise<void>((resolve, reject) => {
        reader.on('data', (data: Buffer) => {
          received += data.byteLength;
          if (received >= bodyBytes) resolve();
        });
        reader.on('close', () => reject(new Error(`the proxy closed after ${received} bytes`)));
        reader.write(`GET http://localhost:${sitePort}/socket HTTP/1.1\r\nhost: localhost:${sitePort}\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
      });
      return reader;
    };
    try {
      // A download first lets the heap and the allocator grow to what relaying at this rate needs.
      const download = await viaProxy({ port: gateway.ready.proxyPort }, `http://localhost:${sitePort}/`, { keepBody: false, agent: false });
      assert.equal(download.received, bodyBytes);
      const before = await rssMb(gateway.pid);
      const reader = await readRefusal();
      // The connection is still open: whatever the proxy kept of it is still held.
      const grown = (await rssMb(gateway.pid)) - before;
      reader.destroy();
      assert.ok(grown < 24, `gateway RSS grew by ${grown.toFixed(0)} MB relaying a 48 MiB refusal`);
    } finally {
      refusing.closeAllConnections();
      refusing.close();
    }
  });
});

/** Opens plugin sockets the way `AiPlugs.connect` does, one client id each; resolves with how each ended up. */
async function openSockets(base: string, count: number) {
  const outcomes = await Promise.all(
    Array.from({ length: count }, (_, i) => {
      const socket = new WebSocket(`ws://localhost:${site.port}${base}/ws?plugin_id=guarded&client_id=c${i}`, { createConnection: () => connect(gateway.ready.proxyPort, '127.0.0.1') } as ClientOptions);
      return new Promise<{ socket: WebSocket; hello: boolean; closeCode?: number }>((resolve) => {
        socket.once('message', (data) => resolve({ socket, hello: /"type":"hello"/.test(String(data)) }));
        socket.once('close', (closeCode) => resolve({ socket, hello: false, closeCode }));
        socket.once('error', () => resolve({ socket, hello: false }));
      });
    }),
  );
  return {
    open: outcomes.filter((o) => o.hello).length,
    tooMany: outcomes.filter((o) => o.closeCode === 1013).length,
    sockets: outcomes.map((o) => o.socket),
    close: () => outcomes.forEach((o) => o.socket.terminate()),
  };
}

describe('sockets a page cannot multiply', () => {
  it('one page load holds at most 32 plugin sockets, and other pages of the site still get theirs', async () => {
    // Each socket is a relayed connection pair in the proxy and a connection in the API; a
    // capability is stateless, so only a count of what is open can bound them.
    const first = await openSockets(await pageBridgeBase(), 40);
    const second = await openSockets(await pageBridgeBase(), 4);
    try {
      assert.deepEqual({ open: first.open, tooMany: first.tooMany }, { open: 32, tooMany: 8 });
      assert.equal(second.open, 4);
    } finally {
      first.close();
      second.close();
    }
  });

  it('a message a plugin socket would refuse is refused by the proxy before it holds it', async () => {
    // Plugin sockets take frames of up to 1 MiB; the proxy relaying them assembled messages of up
    // to 100 MiB first. Four sockets each half-way through a 64 MiB message held 128 MiB there.
    const page = await openSockets(await pageBridgeBase(), 4);
    try {
      assert.equal(page.open, 4);
      const before = await rssMb(gateway.pid);
      const closed = page.sockets.map((socket) => new Promise<number>((resolve) => socket.once('close', resolve)));
      // A masked binary frame announcing 64 MiB (mask key 0: the bytes are sent as they are), and half of it.
      const head = Buffer.from([0x82, 0x80 | 127, 0, 0, 0, 0, 0x04, 0, 0, 0, 0, 0, 0, 0]);
      const part = Buffer.alloc(32 * MiB);
      for (const socket of page.sockets) (socket as unknown as { _socket: Socket })._socket.write(Buffer.concat([head, part]));
      const codes = await Promise.race([Promise.all(closed), new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), 3000))]);
      const grown = (await rssMb(gateway.pid)) - before;
      assert.deepEqual(codes, [1009, 1009, 1009, 1009], 'the sockets should be closed as "message too big"');
      assert.ok(grown < 48, `gateway RSS grew by ${grown.toFixed(0)} MB holding four half-sent messages`);
    } finally {
      page.close();
    }
  });

  it("plugin sockets each half-way through a message just under the frame limit hold no more than the budget together", async () => {
    // A page's message on a plugin socket is held to 1 MiB, but a site may hold 128 sockets (four
    // page loads): each half-way through one held 115 MB together. Now they share
    // proxy.max_websocket_total_bytes (64 MiB), so at most 72 of them keep 900 KB each.
    const pages = [];
    for (let load = 0; load < 4; load += 1) pages.push(await openSockets(await pageBridgeBase(), 32));
    const sockets = pages.flatMap((page) => page.sockets);
    try {
      assert.equal(pages.reduce((open, page) => open + page.open, 0), 128);
      const codes: number[] = [];
      for (const socket of sockets) socket.once('close', (code) => codes.push(code));
      // A masked binary frame announcing 1,000,000 bytes (mask key 0), and 900,000 of them.
      const head = Buffer.from([0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0x0f, 0x42, 0x40, 0, 0, 0, 0]);
      const part = Buffer.concat([head, Buffer.alloc(900_000)]);
      for (const socket of sockets) (socket as unknown as { _socket: Socket })._socket.write(part);
      for (let wait = 0; wait < 50 && codes.length < 56; wait += 1) await new Promise((resolve) => setTimeout(resolve, 100));
      // Each is closed past its share: by ws's own check (1009), or cut off at once when another
      // socket's joining shrank its share (1006), which frees what it held without waiting for it to answer.
      assert.ok(codes.length >= 56 && codes.every((code) => code === 1009 || code === 1006), `sockets closed: ${codes.length} (${[...new Set(codes)].join(', ') || 'none'})`);
    } finally {
      for (const page of pages) page.close();
    }
  });

  it('one site holds at most 128 plugin sockets over all its page loads', async () => {
    const pages = await Promise.all(Array.from({ length: 5 }, async () => openSockets(await pageBridgeBase(), 32)));
    try {
      assert.equal(pages.reduce((sum, page) => sum + page.open, 0), 128);
      assert.equal(pages.reduce((sum, page) => sum + page.tooMany, 0), 32);
    } finally {
      for (const page of pages) page.close();
    }
  });
});

describe('malformed requests', () => {
  it('a bad percent-encoding in a bridged plugin id gets 400, not a 500 with a stack trace', async () => {
    const base = await pageBridgeBase();
    const answer = await rawProxyRequest(gateway.ready.proxyPort, [`POST ${site.origin}${base}/api/plugins/%E0%A4%A/infer HTTP/1.1`, `host: localhost:${site.port}`, 'content-type: application/json', 'content-length: 2', 'connection: close'], '{}');
    assert.match(answer, /^HTTP\/1\.1 400 /, answer.slice(0, 300));
    assert.doesNotMatch(gateway.log(), /URIError/);
  });

  it('a malformed Host gets 403 with a JSON error, not a 500', async () => {
    for (const host of ['[::1', 'a b', '%zz', 'exa mple.com:99999']) {
      const answer = await rawProxyRequest(gateway.ready.apiPort, ['GET /api/health HTTP/1.1', `host: ${host}`, 'connection: close']);
      assert.match(answer, /^HTTP\/1\.1 (403|400) /, `${host}: ${answer.slice(0, 200)}`);
      assert.doesNotMatch(answer, / 500 |at .+\.ts:\d+/);
    }
  });
});

describe('JSON a page nests deeply', () => {
  const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  const nextMessage = (socket: WebSocket) =>
    new Promise<string>((resolve) => {
      socket.once('message', (data) => resolve(String(data)));
      socket.once('close', (code) => resolve(`closed ${code}`));
    });

  it('a socket message of 6,000 nested arrays (12 KB) is refused, and the gateway lives on', async () => {
    // It parsed, and then writing the pong back out overflowed the stack inside the socket's
    // message handler, which ended the gateway: API, proxy and every page's plugins.
    const page = await openSockets(await pageBridgeBase(), 1);
    try {
      const socket = page.sockets[0]!;
      const refused = nextMessage(socket);
      socket.send(`{"type":"ping","t":${deep(6000)}}`);
      assert.match(await refused, /"code":"invalid_message"/);
      const pong = nextMessage(socket);
      socket.send('{"type":"ping","t":1}');
      assert.equal(await pong, '{"type":"pong","t":1}');
    } finally {
      page.close();
    }
    assert.equal((await fetch(`${gateway.ready.apiUrl}/api/health`)).status, 200);
  });

  it('a bridged call whose payload nests 6,000 deep gets 400, not a 500', async () => {
    const body = `{"payload":${deep(6000)}}`;
    const answer = await rawProxyRequest(
      gateway.ready.proxyPort,
      [`POST ${site.origin}${await pageBridgeBase()}/api/plugins/guarded/infer HTTP/1.1`, `host: localhost:${site.port}`, 'content-type: application/json', `content-length: ${body.length}`, 'connection: close'],
      body,
    );
    assert.match(answer, /^HTTP\/1\.1 400 /, answer.slice(0, 300));
    assert.match(answer, /"code":"invalid_json"/);
  });
});

describe("the user's switches reach sockets a page already holds", () => {
  const settings = (body: unknown) =>
    fetch(`${gateway.ready.apiUrl}/api/settings`, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const call = async (socket: WebSocket, id: number) => {
    const answer = new Promise<string>((resolve) => socket.once('message', (data) => resolve(String(data))));
    socket.send(JSON.stringify({ type: 'infer', id, payload: id, stream: false }));
    return JSON.parse(await answer) as { type: string; error?: { code: string } };
  };

  for (const [name, off, on] of [
    ['pausing AiPlugs', { paused: true }, { paused: false }],
    ['switching the plugin off for the site', { plugin_disabled_sites: { guarded: ['localhost'] } }, { plugin_disabled_sites: { guarded: [] } }],
  ] as const) {
    it(`${name} refuses the next call on an open socket, as it refuses bridged HTTP`, async () => {
      const page = await openSockets(await pageBridgeBase(), 1);
      const socket = page.sockets[0]!;
      try {
        assert.equal((await call(socket, 1)).type, 'result');
        assert.equal((await settings(off)).status, 200);
        const refused = await call(socket, 2);
        assert.deepEqual([refused.type, refused.error?.code], ['error', 'plugin_not_injected']);
        assert.equal((await settings(on)).status, 200);
        assert.equal((await call(socket, 3)).type, 'result');
      } finally {
        page.close();
        await settings(on);
      }
    });
  }
});
