/**
 * Issue #12 point 6 — linear-time injection. Five head-less 1 MiB documents, each built so the
 * injector must keep reading to the end of `proxy.max_head_bytes` (a comment, a title, an inline
 * script, an attribute value that never end, a tag of ever more attribute names), are trickled
 * through a real proxy 100 bytes at a time while the bridge is polled. The injector's own count of
 * its work (bytes examined and attribute names compared: deterministic, unlike a clock) must stay
 * within twice each document's size: a rewriter that re-reads what it holds back on every chunk
 * does about 5,000 times that here, and a tokenizer that compares each attribute name with every
 * one before it did ~10¹⁰ comparisons, blocking the gateway for minutes (found by helper-74).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request as httpRequest, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep, setImmediate as yieldToLoop } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { generateCACertificate } from 'mockttp';
import { createCapabilityIssuer } from '../../gateway/src/bridge/page-capability.js';
import type { CertificateAuthority } from '../../gateway/src/ca/certificate-authority.js';
import type { Logger } from '../../gateway/src/events/logger.js';
import type { PluginMatch } from '../../gateway/src/plugins/plugin-registry.js';
import { createProxy, type GatewayProxy } from '../../gateway/src/proxy/create-proxy.js';
import { createDocumentPlanner } from '../../gateway/src/proxy/document-plan.js';
import { HeadRewriter } from '../../gateway/src/proxy/head-rewriter.js';

const MiB = 1024 * 1024;
const TRICKLE = 100;
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const match = {
  plugin: { id: 'demo', dir: '/x', status: 'enabled', manifest: {} as never, contentScripts: [], inlineScripts: new Map() },
  scripts: [{ matches: ['<all_urls>'], exclude_matches: [], js: ['content.js'], css: [], run_at: 'document_start' }],
} as unknown as PluginMatch;

/** Head-less documents of exactly 1 MiB whose head the injector can never see the end of. */
const pad = (start: string) => Buffer.from(start + 'x'.repeat(MiB - start.length), 'latin1');
/** `<head><meta a0 a1 a2 …` to exactly 1 MiB. */
function manyAttributeNames(): Buffer {
  const names: string[] = ['<head><meta'];
  for (let length = names[0]!.length, index = 0; length < MiB; index += 1) {
    names.push(`a${index}`);
    length += String(index).length + 2;
  }
  return Buffer.from(names.join(' ').slice(0, MiB), 'latin1');
}
const DOCUMENTS: Record<string, Buffer> = {
  '/attributes': manyAttributeNames(),
  '/comment': pad('<!doctype html><html><!--'),
  '/title': pad('<!doctype html><html><head><title>'),
  '/script': pad('<html><head><script>var a = "'),
  '/attribute': pad('<head><meta name="description" content="'),
};

/** Writes `body` 100 bytes at a time, yielding to the event loop between writes. */
async function trickle(response: ServerResponse, body: Buffer): Promise<void> {
  response.socket?.setNoDelay(true);
  for (let at = 0; at < body.length && !response.destroyed; at += TRICKLE) {
    if (!response.write(body.subarray(at, at + TRICKLE))) await once(response, 'drain');
    await yieldToLoop();
  }
  response.end();
}

function get(proxy: GatewayProxy, url: string, headers: Record<string, string>): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port: proxy.port, path: url, headers: { host: new URL(url).host, ...headers } }, (response) => {
      let bytes = 0;
      response.on('data', (chunk: Buffer) => (bytes += chunk.length));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, bytes }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}

describe('linear-time injection', () => {
  let site: Server;
  let origin: string;
  let proxy: GatewayProxy;
  let api: Server;
  const rewriters: HeadRewriter[] = [];

  before(async () => {
    site = createServer((request, response) => {
      const body = DOCUMENTS[request.url ?? ''];
      if (!body) return void response.writeHead(404).end();
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      void trickle(response, body);
    });
    site.listen(0, '127.0.0.1');
    await once(site, 'listening');
    origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    // The API port the bridge forwards to: a stand-in that answers every bridged request.
    api = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
    api.listen(0, '127.0.0.1');
    await once(api, 'listening');
    const apiPort = () => (api.address() as AddressInfo).port;
    const capabilities = createCapabilityIssuer();
    const planner = createDocumentPlanner({ activePlugins: () => [match], cspMode: 'nonce', version: '0.0.0', apiPort, capabilities, maxHeadBytes: MiB });
    proxy = await createProxy({
      port: 0,
      ca: (await generateCACertificate()) as unknown as CertificateAuthority,
      activePlugins: () => [match],
      capabilities,
      bridgeSecret: 'linear-test-secret-0123456789',
      logger: silent,
      version: '0.0.0',
      apiPort,
      cspMode: 'nonce',
      trustedTestHosts: [],
      // The real planner, keeping hold of each document's rewriter to read its work counter.
      planDocument: (response) => {
        const plan = planner(response);
        if (!plan) return null;
        return {
          ...plan,
          createTransform: () => {
            const transform = plan.createTransform();
            assert.ok(transform instanceof HeadRewriter);
            rewriters.push(transform);
            return transform;
          },
        };
      },
    });
  });

  after(async () => {
    await proxy?.stop();
    site?.closeAllConnections();
    site?.close();
    api?.close();
  });

  it('examines each byte of five trickled 1 MiB heads at most twice, and the bridge keeps answering', async () => {
    const navigate = { accept: 'text/html', 'sec-fetch-dest': 'document', 'sec-fetch-mode': 'navigate' };
    let loading = true;
    const pages = Promise.all(Object.keys(DOCUMENTS).map((path) => get(proxy, `${origin}${path}`, navigate))).finally(() => (loading = false));
    let polls = 0;
    while (loading) {
      const health = await get(proxy, `${origin}/__aiplugs/cap/token/api/plugins/demo/files/content.js`, {});
      assert.equal(health.status, 200);
      polls += 1;
      await sleep(20);
      // Fail as soon as one rewriter has done more than linear work, rather than after minutes.
      for (const rewriter of rewriters) assert.ok(rewriter.work <= 2 * MiB, `a rewriter examined ${rewriter.work} bytes of a ${MiB}-byte document`);
    }
    for (const page of await pages) {
      assert.equal(page.status, 200);
      assert.ok(page.bytes > MiB, 'the document came through with the markup');
    }
    assert.equal(rewriters.length, Object.keys(DOCUMENTS).length);
    for (const rewriter of rewriters) assert.ok(rewriter.work <= 2 * MiB, `examined ${rewriter.work} bytes`);
    assert.ok(polls > 0);
  });
});
