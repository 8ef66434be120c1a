import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse, type DefaultTreeAdapterMap } from 'parse5';
import type { ContentScript } from '../plugins/manifest-schema.js';
import type { PluginMatch } from '../plugins/plugin-registry.js';
import { compileContentScript } from '../plugins/url-matcher.js';
import { buildInjectionMarkup, inlineScriptText } from './injection-markup.js';

type Element = DefaultTreeAdapterMap['element'];

function matchOf(id: string, scripts: Array<Partial<ContentScript>>, inline: Record<string, string>): PluginMatch {
  const full = scripts.map((script): ContentScript => ({ matches: ['<all_urls>'], exclude_matches: [], js: [], css: [], run_at: 'document_idle', ...script }) as ContentScript);
  const plugin = { id, dir: `/${id}`, status: 'enabled', revision: 'r', manifest: {} as never, contentScripts: full.map(compileContentScript), inlineScripts: new Map(Object.entries(inline)) } as PluginMatch['plugin'];
  return { plugin, scripts: full };
}

const options = { version: '1.2.3', apiPort: 5000, bridgeBase: '/__aiplugs/cap/T', nonce: 'bm9uY2U=' };

/** The head's elements as a spec-conforming HTML parser builds them from the markup. */
function parsedHead(markup: string): Element[] {
  const document = parse(`<!doctype html><html><head>${markup}<meta name="after"></head><body></body></html>`);
  const html = document.childNodes.find((node): node is Element => node.nodeName === 'html');
  const head = html?.childNodes.find((node): node is Element => node.nodeName === 'head');
  return (head?.childNodes ?? []).filter((node): node is Element => 'tagName' in node);
}

const attribute = (element: Element, name: string) => element.attrs.find((attr) => attr.name === name)?.value;
const text = (element: Element) => element.childNodes.map((node) => ('value' in node ? node.value : '')).join('');

describe('document_start scripts inline', () => {
  it('go into the document as the parser reads them, in manifest order, nonced and named; other run_at stay URLs', () => {
    const code = 'window.order = (window.order || []).concat("a");\nif (1 < 2 && "<script>") {}';
    const markup = buildInjectionMarkup(
      [matchOf('a', [{ js: ['one.js', 'two.js'], run_at: 'document_start' }, { js: ['end.js'], run_at: 'document_end' }, { js: ['idle.js'] }], { 'one.js': code, 'two.js': '// two', 'end.js': '// end', 'idle.js': '// idle' })],
      options,
    );
    const scripts = parsedHead(markup).filter((element) => element.tagName === 'script');
    assert.equal(scripts.length, 4, 'runtime, two document_start scripts, one document_end');
    const [, one, two, end] = scripts as [Element, Element, Element, Element];
    assert.equal(text(one), `${code}\n//# sourceURL=aiplugs://a/one.js\n`);
    assert.equal(text(two), '// two\n//# sourceURL=aiplugs://a/two.js\n');
    for (const element of [one, two]) {
      assert.equal(attribute(element, 'src'), undefined);
      assert.equal(attribute(element, 'nonce'), options.nonce);
      assert.equal(attribute(element, 'data-aiplugs-plugin'), 'a');
    }
    assert.equal(attribute(end, 'src'), '/__aiplugs/cap/T/api/plugins/a/files/end.js');
    assert.equal(parsedHead(markup).at(-1)?.tagName, 'meta', 'the markup left the rest of the head as it was');
  });

  it('load by URL whatever inline text would not carry unchanged, and keep the document intact', () => {
    const unsafe = ['x = "</script>";', 'x = "</SCRIPT >";', 'x = "<!--"; y = "<script>";', 'x = "]]>";', 'x = "é";', 'x = "\0";', 'x = "\v";', '// ☃'];
    for (const code of unsafe) {
      assert.equal(inlineScriptText(code, 'a', 'start.js'), null, JSON.stringify(code));
      const head = parsedHead(buildInjectionMarkup([matchOf('a', [{ js: ['start.js'], run_at: 'document_start' }], { 'start.js': code })], options));
      const start = head.filter((element) => element.tagName === 'script')[1];
      assert.equal(start && attribute(start, 'src'), '/__aiplugs/cap/T/api/plugins/a/files/start.js', JSON.stringify(code));
      assert.equal(text(start!), '');
      assert.equal(head.at(-1)?.tagName, 'meta');
    }
    // A file the registry did not keep (too big, behind a symlink…) is loaded by URL too.
    const notKept = buildInjectionMarkup([matchOf('a', [{ js: ['big.js'], run_at: 'document_start' }], {})], options);
    assert.match(notKept, /<script nonce="bm9uY2U=" data-aiplugs-plugin="a" src="\/__aiplugs\/cap\/T\/api\/plugins\/a\/files\/big\.js"><\/script>$/);
  });

  it('sit in a CDATA section in XHTML, and name files whose paths need escaping', () => {
    const markup = buildInjectionMarkup([matchOf('a', [{ js: ['dir/my file.js'], run_at: 'document_start' }], { 'dir/my file.js': 'if (a < b && c) {}' })], { ...options, xml: true });
    assert.ok(markup.endsWith('<script nonce="bm9uY2U=" data-aiplugs-plugin="a">//<![CDATA[\nif (a < b && c) {}\n//# sourceURL=aiplugs://a/dir/my%20file.js\n\n//]]></script>'), markup.slice(-200));
  });
});
