import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileContentScript } from '../plugins/url-matcher.js';
import type { ContentScript } from '../plugins/manifest-schema.js';
import type { PluginMatch } from '../plugins/plugin-registry.js';
import { allowAiPlugsInHeader } from './csp-policy.js';
import { createDocumentTemplates, type InjectionBytes } from './document-templates.js';
import { buildInjectionMarkup } from './injection-markup.js';

function matchOf(id: string, revision: string, scripts: Array<Partial<ContentScript>>, inline: Record<string, string> = {}): PluginMatch {
  const full = scripts.map((script): ContentScript => ({ matches: ['<all_urls>'], exclude_matches: [], js: [], css: [], run_at: 'document_idle', ...script }) as ContentScript);
  const plugin = { id, dir: `/${id}`, status: 'enabled', revision, manifest: {} as never, contentScripts: full.map(compileContentScript), inlineScripts: new Map(Object.entries(inline)) } as unknown as PluginMatch['plugin'];
  return { plugin, scripts: full };
}

const options = (bridgeBase: string, nonce?: string) => ({ version: '1.2.3', apiPort: 5000, bridgeBase, nonce, origin: `https://${nonce ? 'a' : 'b'}.example` });
const asText = ({ markup, headEnd }: InjectionBytes) => ({ markup: markup.toString('latin1'), headEnd: headEnd.toString('latin1') });

describe('document templates', () => {
  it('fill in the same markup as building it for each document, with each document its own bridge base and nonce', () => {
    const templates = createDocumentTemplates();
    const matches = [matchOf('a', 'r1', [{ js: ['start.js'], css: ['ui.css'], run_at: 'document_start' }, { js: ['idle.js'] }]), matchOf('b&"', 'r1', [{ js: ['end one.js'], run_at: 'document_end' }])];
    for (const [base, nonce] of [['/__aiplugs/cap/AAA.bbb', 'bm9uY2Ux+/=='], ['/__aiplugs/cap/CCC.ddd', 'b3RoZXI='], ['/__aiplugs/cap/EEE.fff', undefined]] as const) {
      assert.deepEqual(asText(templates.markup(matches, options(base, nonce))), buildInjectionMarkup(matches, options(base, nonce)));
    }
  });

  it('follow a plugin change: a new revision with other files gives the new markup, not the remembered one', () => {
    const templates = createDocumentTemplates();
    const before = [matchOf('a', 'r1', [{ js: ['old.js'], run_at: 'document_start' }])];
    const after = [matchOf('a', 'r2', [{ js: ['new.js'], run_at: 'document_start' }])];
    assert.match(asText(templates.markup(before, options('/b', 'n'))).markup, /old\.js/);
    const changed = asText(templates.markup(after, options('/b', 'n')));
    assert.deepEqual(changed, buildInjectionMarkup(after, options('/b', 'n')));
    assert.doesNotMatch(changed.markup, /old\.js/);
  });

  it('follow a config change (version, API port, nonce on or off, Web AI grant, plugins the gateway cannot serve, XHTML, inline scripts)', () => {
    const templates = createDocumentTemplates();
    const matches = [matchOf('a', 'r1', [{ js: ['x.js'], run_at: 'document_start' }], { 'x.js': 'window.x = 1;' })];
    const variants = [
      options('/b', 'n'),
      { ...options('/b', 'n'), version: '9' },
      { ...options('/b', 'n'), apiPort: 6000 },
      options('/b'),
      { ...options('/b', 'n'), webAi: { replaceNative: false } },
      { ...options('/b', 'n'), webAi: { replaceNative: true } },
      { ...options('/b', 'n'), unavailable: ['a'] },
      { ...options('/b', 'n'), xml: true },
      { ...options('/b', 'n'), inlineStart: true },
      options('/b', 'n'),
    ];
    for (const variant of variants) {
      assert.deepEqual(asText(templates.markup(matches, variant)), buildInjectionMarkup(matches, variant));
    }
  });

  it('rewrite each CSP header as parsing it for each document would, with that document nonce', () => {
    const templates = createDocumentTemplates();
    const policies = ["script-src 'self'", "default-src 'none'; connect-src https://api.test", "script-src 'self', style-src 'unsafe-inline'", "trusted-types foo; require-trusted-types-for 'script'"];
    for (const policy of policies) {
      for (const context of [{ nonce: 'Zmlyc3Q=', origin: 'https://a.test' }, { nonce: 'c2Vjb25k', origin: 'https://b.test' }]) {
        assert.equal(templates.cspHeader(policy, context), allowAiPlugsInHeader(policy, context));
      }
    }
  });
});
