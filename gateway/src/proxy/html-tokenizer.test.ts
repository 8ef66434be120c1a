import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HtmlTokenizer, type ContentModel } from './html-tokenizer.js';
import { firstTag } from './testing/first-tag.js';

const RAW: Record<string, ContentModel> = { title: 'rcdata', style: 'rawtext', script: 'script' };

/** Every token of `html` as `kind:name@start-end`, fed in `chunkSize`-byte chunks. */
function tokens(html: string, chunkSize = html.length || 1): { list: string[]; work: number } {
  const list: string[] = [];
  const tokenizer = new HtmlTokenizer({
    startTag: (tag) => {
      list.push(`<${tag.name}${tag.attributes.map((a) => ` ${a.name}=${a.value}`).join('')}>@${tag.start}-${tag.end}`);
      return RAW[tag.name] ?? 'data';
    },
    endTag: (name, start, end) => list.push(`</${name}>@${start}-${end}`),
    markup: (start, end) => list.push(`markup@${start}-${end}`),
    text: (at) => list.push(`text@${at}`),
  });
  const bytes = Buffer.from(html, 'latin1');
  for (let at = 0; at < bytes.length; at += chunkSize) tokenizer.write(bytes.subarray(at, at + chunkSize));
  tokenizer.end();
  return { list, work: tokenizer.work };
}

describe('HtmlTokenizer', () => {
  it('finds tags, attributes, comments and doctypes where HTML does', () => {
    const parts = ['<!DOCTYPE html>', '<!-- a -- b -->', '<!--->', 'x', `<html a"b=1 c='>' d=e"f>`, '<?pi>', '<head/>', '<meta content="x>y" content=dup>', '</ p>', '</head>'];
    const html = parts.join('');
    const span = (index: number) => {
      const start = parts.slice(0, index).join('').length;
      return `${start}-${start + parts[index]!.length}`;
    };
    assert.deepEqual(tokens(html).list, [
      `markup@${span(0)}`,
      `markup@${span(1)}`,
      `markup@${span(2)}`,
      'text@36',
      `<html a"b=1 c=> d=e"f>@${span(4)}`,
      `markup@${span(5)}`,
      `<head>@${span(6)}`,
      `<meta content=x>y>@${span(7)}`,
      `markup@${span(8)}`,
      `</head>@${span(9)}`,
    ]);
  });

  it('tells how each markup token opened and closed, and which start tags close themselves', () => {
    const kinds: string[] = [];
    const tags: string[] = [];
    const tokenizer = new HtmlTokenizer({
      startTag: (tag) => (tags.push(`${tag.name}${tag.selfClosing ? '/' : ''}`), 'data'),
      endTag() {},
      markup: (_start, _end, kind) => kinds.push(kind),
      text() {},
    });
    tokenizer.write(Buffer.from('<!--a--><!--><!---><!--b--!><!DOCTYPE html><![CDATA[x]]><?pi x?></><\/3><html a="1"/><head/ x><br/>'));
    tokenizer.write(Buffer.from('<!--open'));
    tokenizer.end();
    assert.deepEqual(kinds, ['comment', 'abrupt-comment', 'abrupt-comment', 'abrupt-comment', 'declaration', 'declaration', 'processing-instruction', 'bogus', 'bogus', 'unfinished']);
    assert.deepEqual(tags, ['html/', 'head', 'br/']);
  });

  it('reads raw text, RCDATA and script data (with its escapes) to the right end tag only', () => {
    const html = `<title></tit></title ><style>a</styled></style/><script><!--<script></script>--></script><p>`;
    const list = tokens(html).list;
    const at = (end: string) => `${html.indexOf(end)}-${html.indexOf(end) + end.length}`;
    assert.deepEqual(list.filter((token) => token.startsWith('</')), [`</title>@${at('</title >')}`, `</style>@${at('</style/>')}`, `</script>@${html.lastIndexOf('</script>')}-${html.lastIndexOf('</script>') + 9}`]);
    assert.equal(list.at(-1), `<p>@${html.length - 3}-${html.length}`);
  });

  it('reports the same tokens however the bytes are split', () => {
    const html = `\xef\xbb\xbf<!doctype html><html lang=en><head><script>if (a<b) x('<!--<script>')</script><!--c--!><meta http-equiv=x content='a"b'></head>t`;
    const whole = tokens(html).list;
    for (const size of [1, 2, 3, 5, 8, 13]) assert.deepEqual(tokens(html, size).list, whole, `${size}-byte chunks`);
  });

  it('at the end, emits an open comment, drops an open tag and turns a lone "<" into text', () => {
    assert.deepEqual(tokens('<!-- open').list, ['markup@0-9']);
    assert.deepEqual(tokens('<meta content="open').list, []);
    assert.deepEqual(tokens('x<').list, ['text@0', 'text@1']);
  });

  it('examines each byte at most twice, however long a token and however small the chunks', () => {
    const long = 'x'.repeat(64 * 1024);
    for (const html of [`<!--${long}-->`, `<meta content="${long}">`, `<script>${long.replace(/x{64}/g, (run) => `${run}<`)}</script>`, `<title>${long}</title>`, `<!doctype ${long}>`]) {
      for (const size of [1, 100, html.length]) {
        const { work } = tokens(html, size);
        // A byte is read again ("reconsumed") at most once when a state hands it on to the next.
        assert.ok(work <= 2 * html.length, `${work} bytes examined for ${html.length} in ${size}-byte chunks`);
      }
    }
  });

  it("costs linear work on a tag of 100,000 attributes, and keeps its first 256 (the first of a name wins)", () => {
    const names = Array.from({ length: 100_000 }, (_, index) => `a${index}`);
    const html = `<meta charset=utf-8 ${names.join(' ')} a5=again content=late>`;
    const { tag, work } = firstTag(html);
    const kept = tag.attributes.map((attribute) => `${attribute.name}=${attribute.value}`);
    // Bytes examined and names compared: comparing each name with every one before it was ~5·10⁹ here.
    assert.ok(work <= 2 * html.length, `work ${work} for ${html.length} bytes`);
    assert.equal(kept.length, 256);
    assert.deepEqual(kept.slice(0, 3), ['charset=utf-8', 'a0=', 'a1=']);
    assert.equal(kept.at(-1), 'a254=');
    assert.equal(kept.filter((attribute) => attribute.startsWith('a5=')).length, 1);
    // Duplicates among the first names are dropped whether they are scanned or looked up in the set.
    for (const count of [3, 20]) {
      const head = Array.from({ length: count }, (_, index) => `b${index}=${index}`).join(' ');
      assert.deepEqual(tokens(`<meta ${head} b0=x b${count - 1}=y>`).list, [`<meta ${head}>@0-${`<meta ${head} b0=x b${count - 1}=y>`.length}`]);
    }
  });
});
