import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import type { PluginMatch } from '../plugins/plugin-registry.js';
import { createCapabilityIssuer } from '../bridge/page-capability.js';
import { createDocumentPlanner, rewriteHead } from './document-plan.js';
import { findHeadEnd } from './head-rewriter.js';

const match = {
  plugin: { id: 'demo', dir: '/x', status: 'enabled', manifest: {} as never, contentScripts: [] },
  scripts: [{ matches: ['<all_urls>'], exclude_matches: [], js: ['content.js'], css: ['ui.css'], run_at: 'document_start' }],
} as unknown as PluginMatch;

const capabilities = createCapabilityIssuer();
const planner = (cspMode: 'nonce' | 'strip', active = [match]) =>
  createDocumentPlanner({ activePlugins: () => active, cspMode, version: '1.0.0', apiPort: () => 5000, capabilities, maxHeadBytes: 64 });

async function run(plan: NonNullable<ReturnType<ReturnType<typeof planner>>>, chunks: Buffer[]): Promise<Buffer> {
  return buffer(Readable.from(chunks).pipe(plan.createTransform()));
}

const html = { 'content-type': 'text/html; charset=utf-8' };

describe('document plan', () => {
  it('passes non-documents and pages without active plugins', () => {
    assert.equal(planner('nonce')({ url: 'https://a.test/', statusCode: 200, headers: { 'content-type': 'application/json' } }), null);
    assert.equal(planner('nonce')({ url: 'https://a.test/', statusCode: 304, headers: html }), null);
    assert.equal(planner('nonce', [])({ url: 'https://a.test/', statusCode: 200, headers: html }), null);
    assert.equal(planner('nonce')({ url: 'https://a.test/', statusCode: 200, headers: { 'content-type': 'text/html; charset=utf-16' } }), null);
  });

  it('strip mode drops CSP and X-Frame-Options; both modes stop caching and keep other security headers', () => {
    const headers = { ...html, 'content-security-policy': "script-src 'self'", 'x-frame-options': 'DENY', etag: '"1"', 'content-length': '10', 'strict-transport-security': 'max-age=1', 'x-content-type-options': 'nosniff' };
    const strip = planner('strip')({ url: 'https://a.test/', statusCode: 200, headers });
    assert.deepEqual(strip?.headers, { ...html, 'strict-transport-security': 'max-age=1', 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' });
    const nonce = planner('nonce')({ url: 'https://a.test/', statusCode: 200, headers });
    assert.match(String(nonce?.headers['content-security-policy']), /^script-src 'self' 'nonce-[A-Za-z0-9+/=]+'(;|$)/);
    assert.equal(nonce?.headers['x-frame-options'], 'DENY');
    assert.equal(nonce?.headers.etag, undefined);
  });

  it('injects the nonce it put in the policy into every element', async () => {
    const plan = planner('nonce')({ url: 'https://a.test/', statusCode: 200, headers: { ...html, 'content-security-policy': "script-src 'self'" } });
    assert.ok(plan);
    const nonce = /'nonce-([^']+)'/.exec(String(plan.headers['content-security-policy']))?.[1];
    const out = (await run(plan, [Buffer.from('<html><head><title>t</title></head><body>x</body></html>')])).toString();
    const tags = out.match(/<(script|link)[^>]*>/g) ?? [];
    assert.equal(tags.length, 3);
    for (const tag of tags) assert.ok(tag.includes(`nonce="${nonce}"`), tag);
  });

  it("loads plugin files under a fresh capability for the document's origin and injected plugins", async () => {
    const bases: string[] = [];
    for (let load = 0; load < 2; load += 1) {
      const plan = planner('strip')({ url: 'https://a.test/page?q=1', statusCode: 200, headers: html });
      assert.ok(plan);
      const out = (await run(plan, [Buffer.from('<html><head></head></html>')])).toString();
      const token = /src="\/__aiplugs\/cap\/([^/"]+)\/api\/plugins\/demo\/files\/content\.js"/.exec(out)?.[1];
      assert.ok(token, out);
      assert.equal(capabilities.verify(token, 'https://a.test')?.plugins.join(), 'demo');
      assert.equal(capabilities.verify(token, 'https://b.test'), null);
      assert.match(out, new RegExp(`data-aiplugs-config="[^"]*&quot;bridge&quot;:&quot;/__aiplugs/cap/${token.replace(/[.]/g, '\\.')}&quot;`));
      bases.push(token);
    }
    assert.notEqual(bases[0], bases[1], 'every document load gets its own capability (its own socket session)');
  });

  it('streams: holds back only the head, across chunk boundaries', async () => {
    const plan = planner('strip')({ url: 'https://a.test/', statusCode: 200, headers: html });
    assert.ok(plan);
    const body = ['<!doctype html><ht', 'ml><he', 'ad><title>t</title></he', 'ad><body>', 'x'.repeat(1000), '</body>'];
    const out = (await run(plan, body.map((part) => Buffer.from(part)))).toString();
    assert.ok(out.startsWith('<!doctype html><html><head><script src="/__aiplugs/runtime/'));
    assert.ok(out.endsWith(`<title>t</title></head><body>${'x'.repeat(1000)}</body>`));
  });

  it('gives up waiting for a head at the cap and injects at the best point so far', async () => {
    const plan = planner('strip')({ url: 'https://a.test/', statusCode: 200, headers: html });
    assert.ok(plan);
    const out = (await run(plan, [Buffer.from(`<html>${' '.repeat(100)}`), Buffer.from('<p>rest</p>')])).toString();
    assert.ok(out.startsWith('<html><script src="/__aiplugs/runtime/'));
    assert.ok(out.endsWith('<p>rest</p>'));
  });

  it('rewrites meta CSP tags per mode', () => {
    const head = Buffer.from(`<html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="script-src &#39;self&#39;">`);
    const context = { nonce: 'abc', origin: 'https://a.test' };
    assert.equal(rewriteHead(head, '<!--X-->', 'strip', context).toString(), '<html><head><!--X--><meta charset="utf-8">');
    assert.equal(
      rewriteHead(head, '<!--X-->', 'nonce', context).toString(),
      `<html><head><!--X--><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="script-src 'self' 'nonce-abc'">`,
    );
  });

  it('finds the end of the head', () => {
    assert.equal(findHeadEnd(Buffer.from('<head><title>x</title></HEAD >')), 22);
    assert.equal(findHeadEnd(Buffer.from('<p>no head<BODY class=x>')), 10);
    assert.equal(findHeadEnd(Buffer.from('<head><title>x</title>')), null);
  });
});
