import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse, type DefaultTreeAdapterMap } from 'parse5';
import type { ContentScript } from '../plugins/manifest-schema.js';
import type { PluginMatch } from '../plugins/plugin-registry.js';
import { compileContentScript } from '../plugins/url-matcher.js';
import { buildInjectionMarkup, type InjectionMarkup } from './injection-markup.js';

type Element = DefaultTreeAdapterMap['element'];

function matchOf(id: string, scripts: Array<Partial<ContentScript>>, inline: Record<string, string>): PluginMatch {
  const full = scripts.map((script): ContentScript => ({ matches: ['<all_urls>'], exclude_matches: [], js: [], css: [], run_at: 'document_idle', ...script }) as ContentScript);
  const plugin = { id, dir: `/${id}`, status: 'enabled', revision: 'r', manifest: {} as never, contentScripts: full.map(compileContentScript), inlineScripts: new Map(Object.entries(inline)) } as PluginMatch['plugin'];
  return { plugin, scripts: full };
}

const options = { version: '1.2.3', apiPort: 5000, bridgeBase: '/__aiplugs/cap/T', nonce: 'bm9uY2U=', inlineStart: true };

/** The head's elements as a spec-conforming HTML parser builds them from the markup early in a head, and the rest at its end. */
function parsedHead({ markup, headEnd }: InjectionMarkup): Element[] {
  const document = parse(`<!doctype html><html><head>${markup}<meta name="after">${headEnd}</head><body></body></html>`);
  const html = document.childNodes.find((node): node is Element => node.nodeName === 'html');
  const head = html?.childNodes.find((node): node is Element => node.nodeName === 'head');
  return (head?.childNodes ?? []).filter((node): node is Element => 'tagName' in node);
}

const attribute = (element: Element, name: string) => element.attrs.find((attr) => attr.name === name)?.value;
const text = (element: Element) => element.childNodes.map((node) => ('value' in node ? node.value : '')).join('');

describe('injection markup', () => {
  it('writes document_start scripts the plugin has inline-ready as the parser reads them, in manifest order, nonced and named', () => {
    const code = 'window.order = (window.order || []).concat("a");\nif (1 < 2 && "<script>" && "-->") {}\n// ends in a comment';
    const matches = [matchOf('a', [{ js: ['one.js', 'by-url.js', 'dir/two x.js'], css: ['a.css'], run_at: 'document_start' }, { js: ['end.js'], run_at: 'document_end' }, { js: ['idle.js'] }], { 'one.js': code, 'dir/two x.js': '// two', 'end.js': '// end', 'idle.js': '// idle' })];
    const head = parsedHead(buildInjectionMarkup(matches, options));
    // What stays in the document (the style sheet, the deferred script) comes after the page's own head nodes.
    assert.deepEqual(head.map((element) => element.tagName), ['script', 'script', 'script', 'script', 'meta', 'link', 'script'], 'the rest of the head is as it was');
    const [, one, byUrl, two, , link, end] = head as [Element, Element, Element, Element, Element, Element, Element];
    assert.equal(attribute(end, 'defer'), '');
    // Each takes its element out after the file's own last line (a comment there cannot swallow it).
    const gone = ';document.currentScript&&document.currentScript.remove();';
    assert.equal(text(one), `${code}\n${gone}\n//# sourceURL=aiplugs://a/one.js\n`);
    assert.equal(text(two), `// two\n${gone}\n//# sourceURL=aiplugs://a/dir/two%20x.js\n`);
    assert.equal(attribute(byUrl, 'src'), '/__aiplugs/cap/T/api/plugins/a/files/by-url.js', 'a file without inline text keeps its place');
    assert.equal(attribute(end, 'src'), '/__aiplugs/cap/T/api/plugins/a/files/end.js');
    for (const element of [link, one, byUrl, two, end]) {
      assert.equal(attribute(element, 'nonce'), options.nonce);
      assert.equal(attribute(element, 'data-aiplugs-plugin'), 'a', 'every element names its plugin');
    }
    for (const element of [one, two]) assert.equal(attribute(element, 'src'), undefined);
  });

  it("names the document's origin in the head end's URLs, which come after any <base href> of the page", () => {
    const matches = [matchOf('a', [{ js: ['one.js'], css: ['a.css'], run_at: 'document_start' }, { js: ['end.js'], run_at: 'document_end' }], {})];
    const head = parsedHead(buildInjectionMarkup(matches, { ...options, origin: 'https://site.example' }));
    assert.deepEqual(
      head.map((element) => attribute(element, 'src') ?? attribute(element, 'href') ?? null),
      [null, '/__aiplugs/cap/T/api/plugins/a/files/one.js', null, 'https://site.example/__aiplugs/cap/T/api/plugins/a/files/a.css', 'https://site.example/__aiplugs/cap/T/api/plugins/a/files/end.js'],
    );
  });

  it('loads every file by URL where inline scripts are not asked for (XHTML)', () => {
    const matches = [matchOf('a', [{ js: ['one.js'], run_at: 'document_start' }], { 'one.js': 'window.one = 1;' })];
    for (const variant of [{ ...options, inlineStart: false }, { ...options, inlineStart: undefined }]) {
      const [, one] = parsedHead(buildInjectionMarkup(matches, variant));
      assert.equal(one && attribute(one, 'src'), '/__aiplugs/cap/T/api/plugins/a/files/one.js');
      assert.equal(text(one!), '');
    }
  });
});
