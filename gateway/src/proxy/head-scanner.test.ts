import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeadScanner, PRESCAN_BYTES } from './head-scanner.js';
import type { ByteEdit } from './meta-csp.js';

const MARKUP = '<!--X-->';
const HEAD_END = '<!--END-->';

interface ScanOptions {
  chunkSize?: number;
  maxBytes?: number;
  rewrite?: (policy: string) => string | null;
  xml?: boolean;
  transportCharset?: boolean;
  headEnd?: boolean;
}

const newScanner = (options: ScanOptions) =>
  new HeadScanner({
    maxBytes: options.maxBytes ?? 1 << 20,
    markup: MARKUP,
    rewriteMetaCsp: options.rewrite ?? ((policy) => policy),
    ...(options.xml ? { xml: true } : {}),
    ...(options.transportCharset ? { transportCharset: true } : {}),
    ...(options.headEnd ? { headEnd: HEAD_END } : {}),
  });

/** The edits for a whole document, fed `chunkSize` bytes at a time (0: in one piece). */
function scan(html: string, options: ScanOptions = {}): ByteEdit[] {
  const bytes = Buffer.from(html, 'latin1');
  const size = options.chunkSize || bytes.length || 1;
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return scanChunks(newScanner(options), chunks);
}

/** The edits `scanner` decides over a whole document in these chunks. */
function scanChunks(scanner: HeadScanner, chunks: Buffer[]): ByteEdit[] {
  const edits: ByteEdit[] = [];
  for (const chunk of chunks) {
    scanner.write(chunk);
    edits.push(...scanner.takeEdits(scanner.settled));
  }
  scanner.end();
  edits.push(...scanner.takeEdits(Infinity));
  return edits;
}

/** Where the markup goes. */
const at = (html: string, chunkSize = 0) => {
  const insertions = scan(html, { chunkSize }).filter((edit) => edit.text === MARKUP);
  assert.equal(insertions.length, 1);
  return insertions[0]!.start;
};
const after = (html: string, marker: string) => html.indexOf(marker) + marker.length;
const before = (html: string, marker: string) => html.indexOf(marker);

describe('HeadScanner: where the markup goes', () => {
  it('right after <head>, with attributes and a quoted ">"', () => {
    const html = '<!DOCTYPE html><html lang="en"><head data-x="a>b"><script>1</script>';
    assert.equal(at(html), after(html, '"a>b">'));
  });

  it('without a <head>: before the first token that opens the head, past the whitespace the parser ignores', () => {
    const html = '<!doctype html>\n<html>\n<body><script>page()</script>';
    // Right after <html> the newline would become a text node in the head.
    assert.equal(at(html), before(html, '<body>'));
    const comment = '<html><!-- note --> <p>x';
    assert.equal(at(comment), before(comment, '<p>'));
  });

  it('with neither: after the doctype and comments, before the first script', () => {
    const html = '<!-- banner --><!doctype html><script>page()</script><p>hi';
    assert.equal(at(html), after(html, '<!doctype html>'));
    assert.equal(at('<p>just text'), 0);
    assert.equal(at('just text'), 0);
    assert.equal(at(''), 0);
  });

  it('skips a UTF-8 BOM and an XML declaration', () => {
    const bom = '\xef\xbb\xbf<head><title>';
    assert.equal(at(bom), 3 + '<head>'.length);
    const xhtml = '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head>';
    assert.equal(at(xhtml), xhtml.length);
  });

  it('is case-insensitive and does not mistake <header> for <head>', () => {
    assert.equal(at('<HTML><HEAD><TITLE>'), '<HTML><HEAD>'.length);
    assert.equal(at('<html><header>x</header>'), '<html>'.length);
  });

  it('reads tags as HTML does: a quote inside an attribute name does not open a value', () => {
    const html = '<html a"b><head c=d"e><title>';
    assert.equal(at(html), after(html, 'd"e>'));
  });

  it('goes after a <meta charset> in the first 1,024 bytes, never past a script or <base>', () => {
    const late = `<html><head><title>t</title><meta name=x content="${'a'.repeat(700)}"></head>\n<meta charset=utf-8><body>`;
    assert.equal(at(late), after(late, '<meta charset=utf-8>'));
    const equiv = '<head><meta http-equiv=Content-Type content="text/html; charset=utf-8">';
    assert.equal(at(equiv), equiv.length);
    const tooLate = `<head><title>${'a'.repeat(PRESCAN_BYTES)}</title><meta charset=utf-8>`;
    assert.equal(at(tooLate), after(tooLate, '<head>'));
  });

  it('keeps the charset in the first 1,024 bytes when a script or <base> comes before it: a copy goes in front of the markup', () => {
    const insertion = (html: string, chunkSize = 0) => {
      const found = scan(html, { chunkSize }).filter((edit) => String(edit.text).endsWith(MARKUP));
      assert.equal(found.length, 1);
      return { start: found[0]!.start, text: String(found[0]!.text) };
    };
    const scripted = '<head><script>1</script><meta charset=utf-8>';
    for (const size of [0, 1, 5]) assert.deepEqual(insertion(scripted, size), { start: after(scripted, '<head>'), text: `<meta charset="utf-8"/>${MARKUP}` });
    const based = '<head><base href="https://cdn.test/"><meta http-equiv=Content-Type content="text/html; charset=\'Shift_JIS\'">';
    assert.deepEqual(insertion(based), { start: after(based, '<head>'), text: `<meta charset="Shift_JIS"/>${MARKUP}` });
    // A label that is not an encoding name is not copied (it could be markup); nor is a declaration past the prescan bytes.
    const odd = '<head><script>1</script><meta charset="a/><script>alert(1)</script>">';
    assert.deepEqual(insertion(odd), { start: after(odd, '<head>'), text: MARKUP });
    const far = `<head><script>${'1'.repeat(PRESCAN_BYTES)}</script><meta charset=utf-8>`;
    assert.deepEqual(insertion(far), { start: after(far, '<head>'), text: MARKUP });
    const none = '<head><script>1</script><title>t</title><body>';
    assert.deepEqual(insertion(none), { start: after(none, '<head>'), text: MARKUP });
  });

  it('keeps a <meta charset> that follows the start of the body in the first 1,024 bytes: a copy goes in front of the markup, before the body', () => {
    const insertion = (html: string, chunkSize = 0) => {
      const found = scan(html, { chunkSize, rewrite: () => null }).filter((edit) => String(edit.text).endsWith(MARKUP));
      assert.equal(found.length, 1);
      return { start: found[0]!.start, text: String(found[0]!.text) };
    };
    const copied = { text: `<meta charset="utf-8"/>${MARKUP}` };
    // Browsers take the declaration from anywhere in those bytes, whatever started the body before it.
    for (const [html, first] of [
      ['<html><head><title>t</title><template><p>x</p></template><meta charset=utf-8>', '<head>'],
      ['<html><head><title>t</title></head><img src=pixel.gif><meta charset=utf-8>', '<head>'],
      ['<!doctype html><body><div>x</div><meta charset=utf-8>', '<!doctype html>'],
      ['<!doctype html><my-app></my-app><p>text</p><meta http-equiv=content-type content="text/html; charset=utf-8">', '<!doctype html>'],
    ] as const) {
      for (const size of [0, 1, 7]) assert.deepEqual(insertion(html, size), { start: after(html, first), ...copied }, `${html} in ${size}-byte chunks`);
    }
    // What the tokenizer of that search does not read as a tag declares nothing: the markup goes at the first point, as it is.
    for (const html of [
      '<head><title>t</title><body><script>"<meta charset=utf-8>"</script>',
      '<head><title>t</title><body><textarea><meta charset=utf-8></textarea>',
      '<head><title>t</title><body><!-- <meta charset=utf-8> -->',
      '<head><title>t</title><body><plaintext><meta charset=utf-8>',
      `<head><title>t</title><body><p>${'a'.repeat(PRESCAN_BYTES)}</p><meta charset=utf-8>`,
    ]) {
      assert.deepEqual(insertion(html), { start: after(html, '<head>'), text: MARKUP }, html);
    }
    // A <meta charset> after the body in the prescan bytes is no CSP: only a head's is rewritten.
    const policy = '<head><title>t</title><body><meta http-equiv=Content-Security-Policy content="script-src \'none\'"><meta charset=utf-8>';
    assert.deepEqual(scan(policy, { rewrite: () => null }).map((edit) => edit.start), [after(policy, '<head>')]);
  });

  it('stops waiting for a <meta charset> when told (its site paused), in the head or after the body started', () => {
    for (const [html, done] of [['<html><head><title>t</title>', false], ['<html><head><title>t</title><div>x', true]] as const) {
      const scanner = newScanner({});
      scanner.write(Buffer.from(html, 'latin1'));
      assert.equal(scanner.waitingForCharset, true, html);
      scanner.stopWaitingForCharset();
      assert.equal(scanner.waitingForCharset, false, html);
      assert.deepEqual(scanner.takeEdits(scanner.settled), [{ start: after(html, '<head>'), end: after(html, '<head>'), text: MARKUP }], html);
      // In the head, its CSP meta tags are still looked for; after the body started, nothing more is.
      assert.equal(scanner.done, done, html);
    }
  });

  it('decides the same way however the document is chunked', () => {
    const documents = ['<!doctype html><html><head data-x="a>b"><title>', '<!-- c -->\n<html>\n <body>', `<head><title>t</title><meta charset="utf-8"><script>`];
    for (const html of documents) {
      for (const size of [1, 2, 3, 7]) assert.equal(at(html, size), at(html), `${JSON.stringify(html)} in ${size}-byte chunks`);
    }
  });

  it('at the end of a document, drops an unfinished tag the way HTML does and injects before it', () => {
    assert.equal(at('<html><head data-x="unfinished'), '<html>'.length);
    assert.equal(at('<!doctype html><html><he'), '<!doctype html><html>'.length);
  });

  it('gives up at maxBytes and injects at the best point so far', () => {
    const edits = scan(`<!doctype html><!--${'x'.repeat(100)}-->`, { maxBytes: 64, chunkSize: 10 });
    assert.deepEqual(edits, [{ start: '<!doctype html>'.length, end: '<!doctype html>'.length, text: MARKUP }]);
  });
});

describe("HeadScanner: the head's end (the plugins' style sheets)", () => {
  /** Where the head's end goes, the same at every chunking; and the markup still goes where it did without it. */
  const headEndAt = (html: string, options: ScanOptions = {}) => {
    const places = [0, 1, 3, 7].map((chunkSize) => {
      const edits = scan(html, { ...options, chunkSize, headEnd: true });
      assert.deepEqual(
        edits.filter((edit) => edit.text !== HEAD_END),
        scan(html, { ...options, chunkSize }),
      );
      const ends = edits.filter((edit) => edit.text === HEAD_END);
      assert.equal(ends.length, 1);
      assert.ok(edits.indexOf(ends[0]!) > edits.findIndex((edit) => edit.text === MARKUP), 'after the markup, in document order');
      return ends[0]!.start;
    });
    assert.equal(new Set(places).size, 1, `${JSON.stringify(html)}: ${places.join(', ')}`);
    return places[0];
  };

  it('goes before the body, after all of the head the page wrote, and what the parser still puts into the head after </head>', () => {
    const html = '<!doctype html><html><head><title>t</title><script>if (a </head> b) {}</script><style>p{}</style><!-- </head> --></head>\n<link rel=stylesheet href=late.css><!-- c --><body>x';
    assert.equal(headEndAt(html), before(html, '<body>'));
  });

  it('without </head>: before the token that starts the body (text, an element, </body>), past every head element', () => {
    for (const [html, marker] of [
      ['<html><head><title>t</title><link rel=x>Hello', 'Hello'],
      ['<head><meta charset="utf-8"><div>x</div>', '<div>'],
      ['<title>t</title>\n<body class=a>', '<body'],
      ['<head><title>t</title></body>', '</body>'],
      ['<!doctype html><p>no head at all', '<p>'],
    ] as const) {
      assert.equal(headEndAt(html), before(html, marker), html);
    }
  });

  it('before a <template> in the head, whose contents the scan does not follow', () => {
    const html = '<head><title>t</title><template><title>u</title></template></head>';
    assert.equal(headEndAt(html), before(html, '<template>'));
  });

  it('when the document or the bytes to read end in the head: at the last point outside any token or element text', () => {
    assert.equal(headEndAt('<head><title>t</title><script>var a = "</scr'), 22, 'before the unclosed script');
    assert.equal(headEndAt('<head><title>t</title><meta name=x content="y'), 22, 'before the unfinished tag');
    const long = `<head><title>t</title><script>${'x'.repeat(200)}</script><meta name=a>`;
    assert.equal(headEndAt(long, { maxBytes: 100 }), before(long, '<script>'));
    assert.equal(headEndAt('<head><title>t</title>'), 22);
  });

  it('with a <meta charset> still to come, after the body started: the markup goes before the body and the head end with it', () => {
    const html = '<title>t</title><b>bold</b><meta charset="utf-8"><p>text</p>';
    assert.equal(headEndAt(html), before(html, '<b>'));
  });

  it('keeps a <meta charset> in the body where browsers look for it: a copy goes in front of the markup, since the head end pushes the original along', () => {
    const html = '<!doctype html><html><head><title>t</title></head>\n<img src=a.png><meta charset="utf-8"><p>';
    for (const chunkSize of [0, 1, 5]) {
      const edits = scan(html, { chunkSize, headEnd: true });
      assert.deepEqual(
        edits.map((edit) => [edit.start, String(edit.text)]),
        [
          [after(html, '<head>'), `<meta charset="utf-8"/>${MARKUP}`],
          [before(html, '<img'), HEAD_END],
        ],
      );
    }
  });

  it('in XHTML, goes with the markup: what HTML reads as the end of a script can be inside a CDATA section for XML', () => {
    const doc = '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>t</title><script>//<![CDATA[\nvar s = "</script>";\n//]]></script></head><body/></html>';
    for (const chunkSize of [0, 1, 7]) {
      assert.deepEqual(
        scan(doc, { chunkSize, xml: true, headEnd: true }).map((edit) => [edit.start, String(edit.text)]),
        [[after(doc, '<head>'), MARKUP + HEAD_END]],
      );
    }
  });

  it('holds back only what it could still go in front of: the head streams token by token', () => {
    const scanner = newScanner({ headEnd: true, transportCharset: true });
    scanner.write(Buffer.from('<head><title>t</title><script>var a = 1;'));
    assert.equal(scanner.settled, 22, 'not the text of a script it could not go inside');
    scanner.write(Buffer.from('</script><link rel=x'));
    assert.equal(scanner.settled, before('<head><title>t</title><script>var a = 1;</script><link', '<link'));
  });
});

describe('HeadScanner: CSP meta tags', () => {
  const policy = "script-src 'self'";
  const tag = `<meta id=m http-equiv="Content-Security-Policy" content="${policy}" data-keep>`;

  it('rewrites the content of each CSP meta tag in the head, keeping every other attribute', () => {
    const html = `<html><head><title>t</title>${tag}</head><body>`;
    const edits = scan(html, { rewrite: (found) => `${found}; x` });
    const start = html.indexOf('"script-src');
    assert.deepEqual(edits, [
      { start: after(html, '<head>'), end: after(html, '<head>'), text: MARKUP },
      { start, end: start + policy.length + 2, text: `"${policy}; x"` },
    ]);
  });

  it('removes the tag when the rewrite says so', () => {
    const html = `<head>${tag}`;
    assert.deepEqual(scan(html, { rewrite: () => null })[1], { start: html.indexOf('<meta'), end: html.length, text: '' });
  });

  it('follows the head past </head> (the parser puts a later <meta> back into it) and stops at the body', () => {
    const html = `<head></head> ${tag}<body>${tag}`;
    const edits = scan(html, { rewrite: () => null });
    assert.deepEqual(edits.map((edit) => edit.start), [after(html, '<head>'), html.indexOf('<meta')]);
  });

  it('does not look inside scripts, comments, <template> or the body', () => {
    const html = `<head><script>"${tag}"</script><!--${tag}--><template>${tag}</template>${tag}`;
    assert.equal(scan(html, { rewrite: () => null }).length, 1);
    assert.equal(scan(`<p>${tag}`, { rewrite: () => null }).length, 1);
  });

  it('finds the same edits in 1-byte chunks', () => {
    const html = `<!doctype html><html><head><title>t</title>${tag}<meta charset=utf-8></head>`;
    assert.deepEqual(scan(html, { chunkSize: 1, rewrite: (found) => `${found}; y` }), scan(html, { rewrite: (found) => `${found}; y` }));
  });
});

/** Every way to cut `bytes` in two, and in 1-byte pieces: the chunkings a test should hold at. */
function* chunkings(bytes: Buffer): Generator<Buffer[]> {
  yield [bytes];
  yield [...bytes].map((byte) => Buffer.of(byte));
  for (let cut = 1; cut < bytes.length; cut += 1) yield [bytes.subarray(0, cut), bytes.subarray(cut)];
}

/** The edits decided, and how far the bytes are settled, once `chunks` are written and before the document ends. */
function beforeTheRest(html: string, chunks: Buffer[], options: ScanOptions): { edits: ByteEdit[]; settled: number } {
  const headScanner = newScanner(options);
  const edits: ByteEdit[] = [];
  for (const chunk of chunks) {
    headScanner.write(chunk);
    edits.push(...headScanner.takeEdits(headScanner.settled));
  }
  return { edits, settled: Math.min(headScanner.settled, html.length) };
}

describe('HeadScanner: a charset in the Content-Type (the transport layer)', () => {
  // An early-flushed head: the rest of the document comes seconds later.
  const flushed = '<!doctype html><html><head><title>x</title><link rel=stylesheet href="/style.css"><link rel=preload as=script href="/app.js">';

  it('injects at the first safe point and settles every byte received, without waiting for a <meta charset>', () => {
    for (const chunks of chunkings(Buffer.from(flushed, 'latin1'))) {
      const { edits, settled } = beforeTheRest(flushed, chunks, { transportCharset: true });
      const cuts = chunks.map((chunk) => chunk.length).join('+');
      assert.deepEqual(edits, [{ start: after(flushed, '<head>'), end: after(flushed, '<head>'), text: MARKUP }], cuts);
      assert.equal(settled, flushed.length, cuts);
    }
  });

  it('makes a later <meta charset> irrelevant: the markup stays at the first point', () => {
    const late = '<html><head><title>t</title><meta charset=windows-1252><body>';
    assert.equal(at(late), after(late, '<meta charset=windows-1252>'));
    for (const size of [0, 1, 3]) {
      const edits = scan(late, { chunkSize: size, transportCharset: true }).filter((edit) => edit.text === MARKUP);
      assert.deepEqual(edits.map((edit) => edit.start), [after(late, '<head>')]);
    }
  });

  it('without it, still holds the head back for a <meta charset> in the first 1,024 bytes', () => {
    for (const chunks of chunkings(Buffer.from(flushed, 'latin1'))) {
      const { edits, settled } = beforeTheRest(flushed, chunks, {});
      assert.deepEqual(edits, []);
      assert.ok(settled <= after(flushed, '<head>'));
    }
  });
});

describe('HeadScanner: XHTML (xml)', () => {
  const X = 'http://www.w3.org/1999/xhtml';
  const xmlDecl = '<?xml version="1.0"?>';
  /** Documents the XML parser reads as the HTML tokenizer does up to the insertion point: where it goes. */
  const accepted: Record<string, { doc: string; at: (doc: string) => number }> = {
    plain: { doc: `${xmlDecl}<html xmlns="${X}"><head><title>t</title></head><body><p>ok</p></body></html>`, at: (doc) => after(doc, '<head>') },
    noHead: { doc: `${xmlDecl}<html xmlns="${X}"><body><p>ok</p></body></html>`, at: (doc) => before(doc, '<body>') },
    commentFirst: { doc: `${xmlDecl}<!-- c --><html xmlns="${X}"><head><title>t</title></head><body><p>ok</p></body></html>`, at: (doc) => after(doc, '<head>') },
    cdataHead: { doc: `${xmlDecl}<html xmlns="${X}"><head><title>t</title><script><![CDATA[ var s = "<head>"; ]]></script></head><body><p>ok</p></body></html>`, at: (doc) => after(doc, '<head>') },
    headAttrGt: { doc: `${xmlDecl}<html xmlns="${X}"><head profile="a>b"><title>t</title></head><body><p>ok</p></body></html>`, at: (doc) => after(doc, 'profile="a>b">') },
    doctype: {
      doc: `${xmlDecl}\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n<?xml-stylesheet href="s.css"?>\n<html xmlns="${X}">\n<head/><body/></html>`,
      at: (doc) => after(doc, '<head/>'),
    },
    // The XML parser ignores <meta charset>: nothing to wait for.
    metaCharset: { doc: `<html xmlns="${X}"><head><title>t</title><meta charset="utf-8"/></head></html>`, at: (doc) => after(doc, '<head>') },
    // Only a DOCTYPE can have an internal subset: a "[" elsewhere is nothing.
    bracketComment: { doc: `<!-- [if IE] --><?pi [x]?><html xmlns="${X}"><head>`, at: (doc) => doc.length },
    prefixedHead: { doc: `<html xmlns="${X}" xmlns:x="${X}"><x:head><x:title>t</x:title></x:head></html>`, at: (doc) => before(doc, '<x:head>') },
  };
  /** Documents whose markup would land outside an unprefixed <html> (or inside a DOCTYPE, a PI, a CDATA section): left alone. */
  const refused: Record<string, string> = {
    prefixed: `${xmlDecl}<x:html xmlns:x="${X}"><x:head><x:title>t</x:title></x:head><x:body><x:p>ok</x:p></x:body></x:html>`,
    svgRoot: `${xmlDecl}<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="5" height="5"/><foreignObject><p xmlns="${X}">ok</p></foreignObject></svg>`,
    doctypeSubset: `${xmlDecl}<!DOCTYPE html [<!ENTITY who "ok">]><html xmlns="${X}"><head><title>t</title></head><body><p>&who;</p></body></html>`,
    emptySubset: `<!DOCTYPE html []><html xmlns="${X}"><head></head></html>`,
    literalGt: `<!DOCTYPE html SYSTEM "a>b.dtd"><html xmlns="${X}"><head></head></html>`,
    piGt: `<?xml-stylesheet href="a>b.css"?><html xmlns="${X}"><head></head></html>`,
    emptyRoot: `${xmlDecl}<html xmlns="${X}"/>`,
    cdataInRoot: `<html xmlns="${X}"><![CDATA[ <head> ]]><head></head></html>`,
    abruptComment: `<!--><html>--><html xmlns="${X}"><head></head></html>`,
    noRoot: `${xmlDecl}<!-- nothing else -->`,
  };

  /** Scans `doc` as XHTML at every chunking; `check` gets the edits, the scanner and a label for the cuts. */
  const atEveryChunking = (name: string, doc: string, check: (edits: ReturnType<typeof scanChunks>, headScanner: HeadScanner, cuts: string) => void) => {
    for (const chunks of chunkings(Buffer.from(doc, 'latin1'))) {
      const headScanner = newScanner({ xml: true });
      check(scanChunks(headScanner, chunks), headScanner, `${name} cut ${chunks.map((chunk) => chunk.length).join('+')}`);
    }
  };

  it('injects inside the unprefixed root <html>, where the HTML scanner would, at every chunking', () => {
    for (const [name, { doc, at: expected }] of Object.entries(accepted)) {
      atEveryChunking(name, doc, (edits, headScanner, cuts) => {
        assert.deepEqual(edits.filter((edit) => edit.text === MARKUP).map((edit) => edit.start), [expected(doc)], cuts);
        assert.equal(headScanner.refusal, null, cuts);
      });
    }
  });

  it('leaves every other shape untouched and says why, at every chunking', () => {
    for (const [name, doc] of Object.entries(refused)) {
      atEveryChunking(name, doc, (edits, headScanner, cuts) => {
        assert.deepEqual(edits, [], cuts);
        assert.equal(headScanner.refusal, 'unsupported-xhtml', cuts);
      });
    }
  });

  it('the same documents served as HTML are injected as before', () => {
    for (const doc of Object.values(refused)) assert.equal(scan(doc).filter((edit) => edit.text === MARKUP).length, 1);
  });
});
