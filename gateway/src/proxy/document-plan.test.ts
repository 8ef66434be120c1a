import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { PluginMatch } from '../plugins/plugin-registry.js';
import { createCapabilityIssuer } from '../bridge/page-capability.js';
import { createDocumentPlanner } from './document-plan.js';
import { injectedRuntime } from './testing/injected-runtime.js';

const match = {
  plugin: { id: 'demo', dir: '/x', status: 'enabled', manifest: {} as never, contentScripts: [], inlineScripts: new Map() },
  scripts: [{ matches: ['<all_urls>'], exclude_matches: [], js: ['content.js'], css: ['ui.css'], run_at: 'document_start' }],
} as unknown as PluginMatch;

const capabilities = createCapabilityIssuer();
const planner = (cspMode: 'nonce' | 'strip', active = [match], maxHeadBytes = 64) =>
  createDocumentPlanner({ activePlugins: () => active, cspMode, version: '1.0.0', apiPort: () => 5000, capabilities, maxHeadBytes });

async function run(plan: NonNullable<ReturnType<ReturnType<typeof planner>>>, chunks: Buffer[]): Promise<Buffer> {
  return buffer(Readable.from(chunks).pipe(plan.createTransform()));
}

const html = { 'content-type': 'text/html; charset=utf-8' };

describe('document plan: Web AI', () => {
  const inFrames = { ...match, scripts: match.scripts.map((script) => ({ ...script, all_frames: true })) } as PluginMatch;
  const withWebAi = createDocumentPlanner({ activePlugins: () => [inFrames], cspMode: 'nonce', version: '1.0.0', apiPort: () => 5000, capabilities, maxHeadBytes: 64, webAi: () => ({ replaceNative: false }) });
  const markupFor = async (url: string, frame = false) => {
    const plan = withWebAi({ url, statusCode: 200, headers: html, frame })!;
    return (await run(plan, [Buffer.from('<!doctype html><html><head><title>t</title></head><body></body></html>')])).toString();
  };

  it('goes to top-level pages that are secure contexts (https, http on loopback) only: not to a frame, nor to a plain-HTTP site', async () => {
    for (const url of ['https://a.test/', 'http://localhost:3000/', 'http://app.localhost/', 'http://127.0.0.1:8000/', 'http://[::1]:8000/']) {
      assert.match(await markupFor(url), /"webai":/, url);
    }
    assert.doesNotMatch(await markupFor('http://a.test/'), /"webai":/, 'a plain-HTTP site is no secure context: the specs do not expose the APIs there');
    assert.doesNotMatch(await markupFor('https://ads.test/', true), /"webai":/, "a frame: its request does not show who embeds it");
  });
});

describe('document plan', () => {
  it('passes non-documents and pages without active plugins', () => {
    assert.equal(planner('nonce')({ url: 'https://a.test/', statusCode: 200, headers: { 'content-type': 'application/json' } }), null);
    assert.equal(planner('nonce')({ url: 'https://a.test/', statusCode: 304, headers: html }), null);
    assert.equal(planner('nonce', [])({ url: 'https://a.test/', statusCode: 200, headers: html }), null);
    assert.equal(planner('nonce')({ url: 'https://a.test/', statusCode: 200, headers: { 'content-type': 'text/html; charset=utf-16' } }), null);
  });

  it("leaves alone a page the site's kept policy sandboxes into an opaque origin (the bridge would refuse its every load); stripped, or sandboxed with its origin, it is injected", () => {
    const sandboxed = (policy: string) => ({ url: 'https://a.test/', statusCode: 200, headers: { ...html, 'content-security-policy': policy } });
    assert.equal(planner('nonce')(sandboxed('sandbox allow-scripts')), null);
    assert.equal(planner('nonce')(sandboxed("default-src 'self', SANDBOX allow-forms")), null);
    assert.ok(planner('nonce')(sandboxed('sandbox allow-scripts allow-same-origin')));
    assert.ok(planner('strip')(sandboxed('sandbox allow-scripts')));
  });

  it("tells the page which plugins the gateway cannot serve, and nothing else about the cloud", async () => {
    const other = { ...match, plugin: { ...match.plugin, id: 'other' } } as unknown as PluginMatch;
    const servable = createDocumentPlanner({ activePlugins: () => [match, other], cspMode: 'strip', version: '1', apiPort: () => 5000, capabilities, maxHeadBytes: 64, servable: ({ plugin }) => plugin.id !== 'other' });
    const plan = servable({ url: 'https://a.test/', statusCode: 200, headers: html });
    assert.ok(plan);
    const out = (await run(plan, [Buffer.from('<html><head></head></html>')])).toString();
    assert.deepEqual(injectedRuntime(out).config.unavailable, ['other']);
    const all = planner('strip')({ url: 'https://a.test/', statusCode: 200, headers: html });
    assert.equal(injectedRuntime((await run(all!, [Buffer.from('<html><head></head></html>')])).toString()).config.unavailable, undefined);
  });

  it('writes document_start scripts inline into HTML documents, and by URL into XHTML ones', async () => {
    const inline = { ...match, plugin: { ...match.plugin, inlineScripts: new Map([['content.js', 'window.started = 1;']]) } } as unknown as PluginMatch;
    const injected = async (headers: Record<string, string>) => {
      const plan = planner('strip', [inline])({ url: 'https://a.test/', statusCode: 200, headers });
      return (await run(plan!, [Buffer.from('<html><head></head></html>')])).toString();
    };
    assert.match(await injected(html), /<script data-aiplugs-plugin="demo">window\.started = 1;\n/);
    assert.match(await injected({ 'content-type': 'application/xhtml+xml' }), /<script data-aiplugs-plugin="demo" src="[^"]+\/files\/content\.js"><\/script>/);
  });

  it("strip mode drops CSP and X-Frame-Options; both modes stop caching, drop what is untrue of the rewritten body (length, ranges, digests) and keep other security headers", () => {
    const headers = { ...html, 'content-security-policy': "script-src 'self'", 'x-frame-options': 'DENY', etag: '"1"', 'content-length': '10', 'accept-ranges': 'bytes', 'content-digest': 'sha-256=:x:', 'strict-transport-security': 'max-age=1', 'x-content-type-options': 'nosniff' };
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
      assert.equal(injectedRuntime(out).config.bridge, `/__aiplugs/cap/${token}`);
      bases.push(token);
    }
    assert.notEqual(bases[0], bases[1], 'every document load gets its own capability (its own socket session)');
  });

  it('runs the runtime inline, as a CDATA section in XHTML only', async () => {
    const inline = async (contentType: string) => {
      const plan = planner('strip')({ url: 'https://a.test/', statusCode: 200, headers: { 'content-type': contentType } });
      assert.ok(plan);
      return (await run(plan, [Buffer.from('<html><head></head></html>')])).toString();
    };
    const xhtml = await inline('application/xhtml+xml; charset=utf-8');
    assert.match(xhtml, /<script data-aiplugs="runtime">\/\/<!\[CDATA\[\n\(function \(AIPLUGS_PAGE_CONFIG\) \{[^]*\n\/\/\]\]><\/script>/);
    assert.equal(injectedRuntime(xhtml).config.plugins.join(), 'demo');
    const htmlPage = await inline('text/html');
    assert.doesNotMatch(htmlPage, /CDATA/);
    assert.equal(injectedRuntime(htmlPage).config.plugins.join(), 'demo');
    assert.doesNotMatch(htmlPage, /__aiplugs\/runtime\//, 'no request for the runtime');
  });

  it('streams: holds back only the head, across chunk boundaries', async () => {
    const plan = planner('strip')({ url: 'https://a.test/', statusCode: 200, headers: html });
    assert.ok(plan);
    const body = ['<!doctype html><ht', 'ml><he', 'ad><title>t</title></he', 'ad><body>', 'x'.repeat(1000), '</body>'];
    const out = (await run(plan, body.map((part) => Buffer.from(part)))).toString();
    assert.ok(out.startsWith('<!doctype html><html><head><script data-aiplugs="runtime">(function (AIPLUGS_PAGE_CONFIG) {'));
    // The plugin's style sheet goes last in the head: before the body, where the parser still puts it into the head.
    assert.match(out, new RegExp(`<title>t</title></head><link rel="stylesheet" data-aiplugs-plugin="demo" href="https://a\\.test/__aiplugs/cap/[^/"]+/api/plugins/demo/files/ui\\.css"><body>${'x'.repeat(1000)}</body>$`));
  });

  it('gives up waiting for a head at the cap and injects at the best point so far', async () => {
    const plan = planner('strip')({ url: 'https://a.test/', statusCode: 200, headers: html });
    assert.ok(plan);
    const out = (await run(plan, [Buffer.from(`<html><!--${'x'.repeat(100)}`), Buffer.from('--><p>rest</p>')])).toString();
    assert.ok(out.startsWith('<html><script data-aiplugs="runtime">'));
    assert.ok(out.endsWith(`<!--${'x'.repeat(100)}--><p>rest</p>`));
  });

  it('leaves a UTF-16 page (by BOM) untouched', async () => {
    const plan = planner('strip')({ url: 'https://a.test/', statusCode: 200, headers: { 'content-type': 'text/html' } });
    assert.ok(plan);
    const page = Buffer.from('\ufeff<html><head></head></html>', 'utf16le');
    assert.deepEqual(await run(plan, [page.subarray(0, 1), page.subarray(1)]), page);
  });

  it('does not hold an early-flushed head back for a <meta charset> when the Content-Type names an encoding', async () => {
    const flushed = '<!doctype html><html><head><title>x</title><link rel=stylesheet href="/style.css"><link rel=preload as=script href="/app.js">';
    /** What reaches the client before the rest of the document comes, over every way to cut the head in two. */
    const early = async (contentType: string) => {
      const seen = new Set<string>();
      const bytes = Buffer.from(flushed);
      for (let cut = 1; cut <= bytes.length; cut += 1) {
        const plan = planner('strip', [match], 1 << 20)({ url: 'https://a.test/', statusCode: 200, headers: { 'content-type': contentType } });
        assert.ok(plan);
        const transform = plan.createTransform();
        const out: Buffer[] = [];
        transform.on('data', (chunk: Buffer) => out.push(chunk));
        transform.write(bytes.subarray(0, cut));
        if (cut < bytes.length) transform.write(bytes.subarray(cut));
        await nextTurn();
        await nextTurn();
        const text = Buffer.concat(out).toString('latin1');
        seen.add(text.includes('data-aiplugs="runtime"') && text.endsWith('href="/app.js">') ? 'all' : text.includes('data-aiplugs') ? 'markup only' : 'held');
      }
      return [...seen].join();
    };
    for (const contentType of ['text/html; charset=utf-8', 'text/html;charset="UTF-8"', 'text/html; charset=Shift_JIS', 'text/html; charset=windows-1252', 'text/html; charset=iso-8859-1', 'text/html; charset=gbk']) {
      assert.equal(await early(contentType), 'all', contentType);
    }
    // No charset, or a label browsers do not know (they ignore it and prescan for a <meta charset>): held.
    for (const contentType of ['text/html', 'text/html; charset=', 'text/html; charset=utf-9', 'text/html; x-charset=utf-8']) {
      assert.equal(await early(contentType), 'held', contentType);
    }
  });

  it('passes XHTML documents it cannot inject into safely through untouched, and says why', async () => {
    const X = 'http://www.w3.org/1999/xhtml';
    const documents = [
      `<?xml version="1.0"?><x:html xmlns:x="${X}"><x:head><x:title>t</x:title></x:head><x:body><x:p>ok</x:p></x:body></x:html>`,
      `<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="5" height="5"/></svg>`,
      `<?xml version="1.0"?><!DOCTYPE html [<!ENTITY who "ok">]><html xmlns="${X}"><head><title>t</title></head><body><p>&who;</p></body></html>`,
    ];
    for (const doc of documents) {
      const plan = planner('strip', [match], 1 << 20)({ url: 'https://a.test/', statusCode: 200, headers: { 'content-type': 'application/xhtml+xml' } });
      assert.ok(plan);
      const reasons: string[] = [];
      const out = await buffer(Readable.from([Buffer.from(doc)]).pipe(plan.createTransform((reason) => reasons.push(reason))));
      assert.equal(out.toString(), doc);
      assert.deepEqual(reasons, ['unsupported-xhtml']);
    }
    const plain = `<?xml version="1.0"?><html xmlns="${X}"><head><title>t</title></head><body><p>ok</p></body></html>`;
    const plan = planner('strip', [match], 1 << 20)({ url: 'https://a.test/', statusCode: 200, headers: { 'content-type': 'application/xhtml+xml' } });
    const out = (await run(plan!, [Buffer.from(plain)])).toString();
    assert.ok(out.startsWith(`<?xml version="1.0"?><html xmlns="${X}"><head><script data-aiplugs="runtime">//<![CDATA[`), out.slice(0, 200));
  });

  it('rewrites meta CSP tags per mode, keeping their other attributes', async () => {
    const head = `<html><head><meta charset="utf-8"><meta id="csp" http-equiv="Content-Security-Policy" content="script-src &#39;self&#39;"><title>t</title>`;
    const strip = planner('strip', [match], 1024)({ url: 'https://a.test/', statusCode: 200, headers: html });
    assert.ok(strip);
    // The Content-Type names the charset: the markup need not wait for the <meta charset>.
    assert.match((await run(strip, [Buffer.from(head)])).toString(), /^<html><head><script [^]*<\/script><meta charset="utf-8"><title>t<\/title><link rel="stylesheet" data-aiplugs-plugin="demo" href="[^"]+\/ui\.css">$/);
    const nonce = planner('nonce', [match], 1024)({ url: 'https://a.test/', statusCode: 200, headers: html });
    assert.ok(nonce);
    const out = (await run(nonce, [Buffer.from(head)])).toString();
    const value = /nonce="([^"]+)"/.exec(out)?.[1];
    assert.ok(out.includes(`<meta id="csp" http-equiv="Content-Security-Policy" content="script-src 'self' 'nonce-${value}'"><title>t</title><link rel="stylesheet" nonce="${value}" data-aiplugs-plugin="demo"`), out);
  });
});
