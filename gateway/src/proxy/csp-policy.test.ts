import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allowAiPlugs, allowAiPlugsInHeader, parsePolicy } from './csp-policy.js';

const context = { nonce: 'N0nce', origin: 'https://site.test' };
const directive = (policy: string, name: string) => parsePolicy(policy).find((d) => d.name === name)?.values ?? null;

describe('allowAiPlugs', () => {
  it("adds only the nonce to script-src: no host or path source a page's own script could ride on", () => {
    const out = allowAiPlugs("script-src 'self'", context);
    assert.deepEqual(directive(out, 'script-src'), ["'self'", "'nonce-N0nce'"]);
    assert.deepEqual(directive(allowAiPlugs("script-src 'nonce-page'", context), 'script-src'), ["'nonce-page'", "'nonce-N0nce'"]);
    for (const policy of ["script-src 'self'", "default-src 'none'", "script-src 'nonce-page'", "style-src 'sha256-abc'", "script-src 'self' 'unsafe-inline' 'nonce-page'"]) {
      for (const name of ['script-src', 'style-src']) assert.ok(!(directive(allowAiPlugs(policy, context), name) ?? []).some((value) => value.includes('__aiplugs')), `${policy} → ${name}`);
    }
  });

  it("keeps 'strict-dynamic' policies nonce-only (host sources are ignored there)", () => {
    const out = allowAiPlugs("script-src 'nonce-page' 'strict-dynamic' https:; object-src 'none'", context);
    assert.deepEqual(directive(out, 'script-src'), ["'nonce-page'", "'strict-dynamic'", 'https:', "'nonce-N0nce'"]);
    assert.deepEqual(directive(out, 'object-src'), ["'none'"]);
  });

  it("does not break a page that relies on 'unsafe-inline' by adding a nonce: the bridge's path lets plugin files in", () => {
    const out = allowAiPlugs("script-src 'self' 'unsafe-inline'", context);
    assert.deepEqual(directive(out, 'script-src'), ["'self'", "'unsafe-inline'", 'https://site.test/__aiplugs/']);
    // Scripts from a CDN only: without the path every plugin file was refused (and reported to the site).
    const cdnOnly = allowAiPlugs("script-src 'unsafe-inline' https://cdn.test; style-src 'unsafe-inline'; report-uri /csp", context);
    assert.deepEqual(directive(cdnOnly, 'script-src'), ["'unsafe-inline'", 'https://cdn.test', 'https://site.test/__aiplugs/']);
    assert.deepEqual(directive(cdnOnly, 'style-src'), ["'unsafe-inline'", 'https://site.test/__aiplugs/']);
    assert.deepEqual(directive(allowAiPlugs("script-src * 'unsafe-inline'", context), 'script-src'), ['*', "'unsafe-inline'"]);
  });

  it('derives script, style and connect directives from default-src only policies', () => {
    const out = allowAiPlugs("default-src 'none'", context);
    assert.deepEqual(directive(out, 'default-src'), ["'none'"]);
    assert.deepEqual(directive(out, 'script-src'), ["'nonce-N0nce'"]);
    assert.deepEqual(directive(out, 'style-src'), ["'nonce-N0nce'"]);
    assert.deepEqual(directive(out, 'connect-src'), ['https://site.test/__aiplugs/', 'wss://site.test/__aiplugs/']);
  });

  it('leaves policies that do not restrict scripts alone apart from what they restrict', () => {
    assert.equal(allowAiPlugs('frame-ancestors https://a.test', context), 'frame-ancestors https://a.test');
    assert.equal(allowAiPlugs("img-src 'self'; upgrade-insecure-requests", context), "img-src 'self'; upgrade-insecure-requests");
  });

  it('adds the aiplugs Trusted Types policy name', () => {
    const out = allowAiPlugs("require-trusted-types-for 'script'; trusted-types app-policy", context);
    assert.deepEqual(directive(out, 'trusted-types'), ['app-policy', 'aiplugs']);
    assert.deepEqual(directive(allowAiPlugs("trusted-types 'none'", context), 'trusted-types'), ['aiplugs']);
    assert.deepEqual(directive(allowAiPlugs('trusted-types *', context), 'trusted-types'), ['*']);
  });

  it('rewrites each of several policies in one header value', () => {
    const out = allowAiPlugsInHeader("script-src 'self', default-src https:", context).split(', ');
    assert.equal(out.length, 2);
    assert.match(out[0] ?? '', /'nonce-N0nce'/);
    assert.match(out[1] ?? '', /script-src https: 'nonce-N0nce'/);
  });
});
