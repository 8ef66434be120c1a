import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { generateCACertificate } from 'mockttp';
import { WebSocket, WebSocketServer, type ClientOptions } from 'ws';
import { createCapabilityIssuer } from '../bridge/page-capability.js';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import type { Logger } from '../events/logger.js';
import type { InjectionActivity } from '../events/activity-events.js';
import type { PluginMatch } from '../plugins/plugin-registry.js';
import { createErrorResponder, createProxy, loggableUrl, type GatewayProxy } from './create-proxy.js';
import { PLUGIN_FREE_HEADER } from './plugin-free-load.js';

const match = {
  plugin: { id: 'demo', dir: '/x', status: 'enabled', manifest: {} as never, contentScripts: [], inlineScripts: new Map() },
  scripts: [{ matches: ['<all_urls>'], exclude_matches: [], js: ['content.js'], css: [], run_at: 'document_start' }],
} as unknown as PluginMatch;
/** A plugin whose group asks for frames too (`all_frames`); `match`'s is for top-level pages only. */
const frameMatch = { ...match, scripts: [{ ...match.scripts[0], all_frames: true }] } as PluginMatch;

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const page = Buffer.from(`<!doctype html><html><head><title>t</title></head><body>${'p'.repeat(200_000)}</body></html>`);
const navigate = { 'sec-fetch-dest': 'document', 'sec-fetch-mode': 'navigate', accept: 'text/html' };

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function viaProxy(proxy: GatewayProxy, url: string, headers: Record<string, string>, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: proxy.port, method, path: url, headers: { host: new URL(url).host, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('createProxy', () => {
  let site: Server;
  let origin: string;
  let proxy: GatewayProxy;
  let api: Server;
  const seen: Record<string, IncomingHttpHeaders> = {};
  const apiSeen: Array<{ path: string; headers: IncomingHttpHeaders }> = [];
  const decisions: InjectionActivity[] = [];

  before(async () => {
    site = createServer((request: IncomingMessage, response: ServerResponse) => {
      const path = request.url ?? '/';
      seen[path] = request.headers;
      if (path === '/page.gz') {
        response.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip', etag: '"v1"' }).end(zlib.gzipSync(page));
      } else if (path === '/page.br') {
        response.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'br' }).end(zlib.brotliCompressSync(page));
      } else if (path === '/page.stacked') {
        // A body gzipped four times over, and a head naming 3,000 codings with none of them applied.
        let body: Buffer = page;
        for (let layer = 0; layer < 4; layer += 1) body = zlib.gzipSync(body);
        response.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip, gzip, gzip, gzip' }).end(body);
      } else if (path === '/page.bombed') {
        response.writeHead(200, { 'content-type': 'text/html', 'content-encoding': Array(3_000).fill('br').join(',') }).end('opaque');
      } else if (path === '/page.compress') {
        response.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'compress' }).end('opaque');
      } else if (path === '/data.gz') {
        const gz = zlib.gzipSync('{"a":1}');
        response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': String(gz.length) }).end(gz);
      } else if (path === '/page.html' && request.headers['if-none-match'] === '"v1"') {
        response.writeHead(304, { etag: '"v1"', vary: 'Accept-Encoding' }).end();
      } else if (path === '/range' && request.headers.range === 'bytes=10-60') {
        response.writeHead(206, { 'content-type': 'text/html', 'content-range': `bytes 10-60/${page.length}`, 'content-length': '51' }).end(page.subarray(10, 61));
      } else {
        response.writeHead(200, { 'content-type': 'text/html', 'content-length': String(page.length) }).end(page);
      }
    });
    site.listen(0, '127.0.0.1');
    await once(site, 'listening');
    origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    const ca = await generateCACertificate();
    // Where the bridge forwards to: the gateway's API port.
    api = createServer((request, response) => {
      apiSeen.push({ path: request.url ?? '', headers: request.headers });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"pong":true}');
    });
    api.listen(0, '127.0.0.1');
    await once(api, 'listening');
    proxy = await createProxy({
      port: 0,
      ca: ca as unknown as CertificateAuthority,
      activePlugins: (url) => [url.includes('/framed/') ? frameMatch : match],
      decisions: { explainNoPlugins: () => null, onDecision: (decision) => decisions.push(decision) },
      capabilities: createCapabilityIssuer(),
      bridgeSecret: 'proxy-test-secret-0123456789',
      logger: silent,
      version: '0.0.0',
      apiPort: () => (api.address() as AddressInfo).port,
      cspMode: 'strip',
      maxHeadBytes: 64 * 1024,
      trustedTestHosts: [],
      maxWebSocketMessageBytes: 64 * 1024,
    });
  });

  after(async () => {
    await proxy.stop();
    site.closeAllConnections();
    site.close();
    api.close();
  });

  it('injects into a gzip navigation and serves it decoded, chunked and uncached', async () => {
    const reply = await viaProxy(proxy, `${origin}/page.gz`, { ...navigate, 'accept-encoding': 'gzip, br, zstd', 'if-none-match': '"v1"' });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-encoding'], undefined);
    assert.equal(reply.headers['content-length'], undefined);
    assert.equal(reply.headers['transfer-encoding'], 'chunked');
    assert.equal(reply.headers['cache-control'], 'no-store');
    assert.equal(reply.headers.etag, undefined);
    const html = reply.body.toString('latin1');
    assert.ok(html.startsWith('<!doctype html><html><head><script data-aiplugs="runtime">(function (AIPLUGS_PAGE_CONFIG) {'), html.slice(0, 80));
    assert.ok(html.endsWith(page.subarray(page.indexOf('<title>')).toString('latin1')));
    // The upstream was asked for a fresh copy in an encoding we can decode.
    assert.equal(seen['/page.gz']?.['if-none-match'], undefined);
    assert.ok(!/zstd/.test(String(seen['/page.gz']?.['accept-encoding'])) || typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress === 'function');
  });

  it('passes a range of a document through as the site sent it, its If-Range kept', async () => {
    // A slice of a page cannot take markup, and without If-Range the site would splice the bytes
    // of a page that changed into the ones the client holds.
    const reply = await viaProxy(proxy, `${origin}/range`, { ...navigate, range: 'bytes=10-60', 'if-range': '"v1"' });
    assert.equal(reply.status, 206);
    assert.deepEqual(reply.body, page.subarray(10, 61));
    assert.equal(seen['/range']?.['if-range'], '"v1"');
  });

  it('injects into a brotli navigation and into an identity one', async () => {
    for (const path of ['/page.br', '/page.html']) {
      const reply = await viaProxy(proxy, `${origin}${path}`, navigate);
      assert.ok(reply.body.includes('data-aiplugs="runtime"'), path);
      assert.equal(reply.body.length > page.length, true);
    }
  });

  it('passes a load the user wants plugin-free (the extension marks its navigations) through as the site sent it, uncached, and never shows the mark to the site', async () => {
    const direct = (path: string, headers: Record<string, string>) =>
      new Promise<Buffer>((resolve) => httpRequest(`${origin}${path}`, { headers }, (res) => { const chunks: Buffer[] = []; res.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => resolve(Buffer.concat(chunks))); }).end());
    for (const [path, destination] of [['/page.gz', 'document'], ['/frame.html', 'iframe']] as const) {
      const headers = { ...navigate, 'sec-fetch-dest': destination, 'accept-encoding': 'gzip', 'if-none-match': '"v0"' };
      const reply = await viaProxy(proxy, `${origin}${path}`, { ...headers, [PLUGIN_FREE_HEADER]: '1' });
      assert.equal(reply.status, 200, path);
      assert.deepEqual(reply.body, await direct(path, headers), `${path}: the body was changed`);
      assert.equal(seen[path]?.[PLUGIN_FREE_HEADER], undefined, `${path}: the site saw the mark`);
      // The browser's own revalidation goes on as it asked; what comes back is not kept, since
      // the next load of the page would come from the cache, past the proxy.
      assert.equal(seen[path]?.['if-none-match'], '"v0"', path);
      assert.equal(reply.headers['cache-control'], 'no-store', path);
    }
    const gz = await viaProxy(proxy, `${origin}/page.gz`, { ...navigate, 'accept-encoding': 'gzip', [PLUGIN_FREE_HEADER]: '1' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gz.headers.etag, undefined);
    // Marked requests that are not documents (an <object>'s load) lose the mark too, and nothing else.
    const object = await viaProxy(proxy, `${origin}/data.gz`, { 'sec-fetch-dest': 'object', 'sec-fetch-mode': 'navigate', [PLUGIN_FREE_HEADER]: '1' });
    assert.equal(seen['/data.gz']?.[PLUGIN_FREE_HEADER], undefined);
    assert.deepEqual(zlib.gunzipSync(object.body).toString(), '{"a":1}');
    assert.equal(object.headers['content-length'], String(object.body.length));
  });

  it('leaves a frame alone when its plugins are for top-level pages only, kept apart from visits in the browser cache; a plugin that asks for frames gets them', async () => {
    const frame = { ...navigate, 'sec-fetch-dest': 'iframe' };
    const untouched = await viaProxy(proxy, `${origin}/page.html`, frame);
    assert.deepEqual(untouched.body, page);
    assert.equal(untouched.headers['content-length'], String(page.length));
    assert.equal(untouched.headers.vary, 'sec-fetch-dest, sec-fetch-mode');
    assert.equal(untouched.headers['cache-control'], undefined);
    assert.deepEqual(decisions.at(-1), { type: 'injection', url: `${origin}/page.html`, status: 200, plugins: [], reason: 'top-frame-only', csp: null });
    // The browser's revalidation of its copy goes to the site as asked, and the 304 keeps it apart too.
    const revalidated = await viaProxy(proxy, `${origin}/page.html`, { ...frame, 'if-none-match': '"v1"' });
    assert.equal(seen['/page.html']?.['if-none-match'], '"v1"');
    assert.equal(revalidated.status, 304);
    assert.match(String(revalidated.headers.vary), /sec-fetch-dest, sec-fetch-mode/);
    const injected = await viaProxy(proxy, `${origin}/framed/page.html`, frame);
    assert.ok(injected.body.includes('data-aiplugs-plugin="demo"'), 'a plugin that asks for frames is injected into one');
    assert.equal(injected.headers['cache-control'], 'no-store');
    // The same URL as a visit gets the top-level plugin.
    const visited = await viaProxy(proxy, `${origin}/page.html`, navigate);
    assert.ok(visited.body.includes('data-aiplugs-plugin="demo"'));
  });

  it('passes a body in an encoding it cannot decode through untouched', async () => {
    const reply = await viaProxy(proxy, `${origin}/page.compress`, navigate);
    assert.equal(reply.headers['content-encoding'], 'compress');
    assert.equal(reply.body.toString(), 'opaque');
  });

  it('passes a body of more than three stacked codings through untouched, building no decoder for them', async () => {
    const stacked = await viaProxy(proxy, `${origin}/page.stacked`, navigate);
    assert.equal(stacked.headers['content-encoding'], 'gzip, gzip, gzip, gzip');
    let body = stacked.body;
    for (let layer = 0; layer < 4; layer += 1) body = zlib.gunzipSync(body);
    assert.deepEqual(body, page);
    // Before, the proxy built a brotli decoder for each of these 3,000 (20,000 cost ~300 MB), then failed the page.
    const bombed = await viaProxy(proxy, `${origin}/page.bombed`, navigate);
    assert.equal(bombed.body.toString(), 'opaque');
    assert.equal(String(bombed.headers['content-encoding']).split(',').length, 3_000);
  });

  it('passes non-documents through byte for byte, still encoded and with their length', async () => {
    const reply = await viaProxy(proxy, `${origin}/data.gz`, { accept: '*/*', 'sec-fetch-dest': 'empty', 'sec-fetch-mode': 'cors' });
    assert.equal(reply.headers['content-encoding'], 'gzip');
    assert.equal(reply.headers['content-length'], String(reply.body.length));
    assert.equal(zlib.gunzipSync(reply.body).toString(), '{"a":1}');
    const html = await viaProxy(proxy, `${origin}/page.html`, { accept: 'text/html', 'sec-fetch-dest': 'iframe', 'sec-fetch-mode': 'no-cors' });
    assert.deepEqual(html.body, page);
  });

  it('keeps a page a script fetched or prefetched apart from navigations in the browser cache (Vary), passed through untouched; other fetches keep no Vary', async () => {
    const fetched = await viaProxy(proxy, `${origin}/page.html`, { accept: '*/*', 'sec-fetch-dest': 'empty', 'sec-fetch-mode': 'no-cors', 'sec-purpose': 'prefetch' });
    assert.equal(fetched.headers.vary, 'sec-fetch-dest, sec-fetch-mode');
    assert.deepEqual(fetched.body, page);
    assert.equal(fetched.headers['content-length'], String(page.length));
    // A plain-HTTP page's script (no fetch metadata) likewise.
    const noMetadata = await viaProxy(proxy, `${origin}/page.html`, { accept: 'text/html', referer: `${origin}/` });
    assert.equal(noMetadata.headers.vary, 'sec-fetch-dest, sec-fetch-mode');
    assert.deepEqual(noMetadata.body, page);
    const json = await viaProxy(proxy, `${origin}/data.gz`, { accept: '*/*', 'sec-fetch-dest': 'empty', 'sec-fetch-mode': 'cors' });
    assert.equal(json.headers.vary, undefined);
    const image = await viaProxy(proxy, `${origin}/page.html`, { accept: '*/*', 'sec-fetch-dest': 'image', 'sec-fetch-mode': 'no-cors' });
    assert.equal(image.headers.vary, undefined);
    // Its revalidation: a 304 updates the stored headers, so it carries the Vary too (after the site's own).
    const revalidated = await viaProxy(proxy, `${origin}/page.html`, { accept: '*/*', 'sec-fetch-dest': 'empty', 'sec-fetch-mode': 'cors', 'if-none-match': '"v1"' });
    assert.equal(revalidated.status, 304);
    assert.equal(revalidated.headers.vary, 'Accept-Encoding, sec-fetch-dest, sec-fetch-mode');
  });

  // Without the head-only matcher, mockttp waited for the whole body of every GET before it
  // chose a rule, so this request never reached the site and the test hung until its timeout.
  it('sends a passed-through GET on as its head arrives, without waiting for its body to end', { timeout: 20_000 }, async () => {
    const request = httpRequest({
      host: '127.0.0.1',
      port: proxy.port,
      method: 'GET',
      path: `${origin}/body-still-coming`,
      headers: { host: new URL(origin).host, 'transfer-encoding': 'chunked', 'sec-fetch-dest': 'empty', 'sec-fetch-mode': 'cors' },
    });
    try {
      request.write('the first part of a body that has not ended');
      const [response] = (await once(request, 'response')) as [IncomingMessage];
      assert.equal(response.statusCode, 200);
      assert.ok(seen['/body-still-coming'], 'the site got the request');
      request.end();
      response.resume();
      await once(response, 'end');
    } finally {
      request.destroy();
    }
  });

  it("forwards the same-origin bridge of any host to the API port, with the proxy's secret and the site's Host", async () => {
    const reply = await viaProxy(proxy, `${origin}/__aiplugs/cap/t0k.en/api/ping?x=1`, { referer: `${origin}/page.html`, cookie: 'site=secret' });
    assert.deepEqual(JSON.parse(reply.body.toString()), { pong: true });
    assert.equal(seen['/__aiplugs/cap/t0k.en/api/ping?x=1'], undefined, 'the site never sees bridge calls');
    const forwarded = apiSeen.at(-1);
    assert.equal(forwarded?.path, '/__aiplugs-bridge/proxy-test-secret-0123456789/http/cap/t0k.en/api/ping?x=1');
    assert.equal(forwarded?.headers.host, new URL(origin).host);
    assert.equal(forwarded?.headers.cookie, undefined);
  });

  it("leaves a site's own paths that differ from the bridge's only in case to the site", async () => {
    const before = apiSeen.length;
    for (const path of ['/__Aiplugs/x', '/__AIPLUGS/cap/t0k.en/api/plugins/a/files/b.js']) {
      await viaProxy(proxy, `${origin}${path}`, { 'sec-fetch-dest': 'script', 'sec-fetch-mode': 'no-cors' });
      assert.ok(seen[path], `${path} reached the site`);
    }
    assert.equal(apiSeen.length, before);
  });

  it('refuses a request that points the proxy at itself (a loop), with an error page, once', { timeout: 20_000 }, async () => {
    // The loop check now matches both ends of a connection (patches/README.md "loop-check"); a
    // page or local program that aims the proxy at its own port must still be stopped at the
    // first hop back, not recurse until sockets run out.
    const reply = await viaProxy(proxy, `http://127.0.0.1:${proxy.port}/again`, { 'sec-fetch-dest': 'script' });
    assert.equal(reply.status, 502);
    assert.match(reply.body.toString(), /loop detected/i);
  });

  it("relays a site's WebSocket messages up to proxy.max_websocket_message_bytes, and closes the socket on a larger one", async () => {
    const wsSite = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wsSite, 'listening');
    wsSite.on('connection', (socket) => {
      socket.send(Buffer.alloc(32 * 1024));
      socket.send(Buffer.alloc(128 * 1024));
    });
    const client = new WebSocket(`ws://127.0.0.1:${(wsSite.address() as AddressInfo).port}/`, { createConnection: () => connect(proxy.port, '127.0.0.1') } as ClientOptions);
    const received: number[] = [];
    client.on('message', (data: Buffer) => received.push(data.length));
    try {
      await once(client, 'close');
      assert.deepEqual(received, [32 * 1024]);
    } finally {
      wsSite.close();
    }
  });

  it('logs URLs without their query string or fragment', () => {
    assert.equal(loggableUrl('https://a.test/search?q=secret#frag'), 'https://a.test/search');
    assert.equal(loggableUrl('https://a.test/p#token=1'), 'https://a.test/p');
    assert.equal(loggableUrl('https://a.test/p'), 'https://a.test/p');
  });
});

describe('createErrorResponder', () => {
  it("logs a site's failure as a warning, and a bridged call a page ended early at debug level only", () => {
    const lines: string[] = [];
    const logger: Logger = { ...silent, warn: (line: string) => lines.push(`warn ${line}`), debug: (line: string) => lines.push(`debug ${line}`) };
    const respond = createErrorResponder(logger, () => '127.0.0.1:5000');
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    assert.equal(respond(reset, { url: 'http://127.0.0.1:5000/__aiplugs-bridge/x/api/plugins/echo/infer' }).statusCode, 502);
    respond(reset, { url: 'https://site.test/page' });
    assert.deepEqual(lines.map((line) => line.split(' ')[0]), ['debug', 'warn']);
  });
});
