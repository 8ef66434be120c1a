import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { HeadRewriter, type HeadRewriterOptions } from './head-rewriter.js';
import { createHeldBytes } from './held-bytes.js';
import { collectGarbage, MiB } from '../../../test/support/proxy-exchange.js';

const MARKUP = '<script data-aiplugs-test="1" src="/__aiplugs/runtime.js"></script>';
const X = 'http://www.w3.org/1999/xhtml';

const rewriter = (options: Partial<HeadRewriterOptions> = {}) => new HeadRewriter({ maxHeadBytes: 1 << 20, markup: MARKUP, rewriteMetaCsp: (policy) => policy, ...options });

/** Every way to cut `bytes` in two, in 1-byte pieces, and whole. */
function* chunkings(bytes: Buffer): Generator<Buffer[]> {
  yield [bytes];
  yield [...bytes].map((byte) => Buffer.of(byte));
  for (let cut = 1; cut < bytes.length; cut += 1) yield [bytes.subarray(0, cut), bytes.subarray(cut)];
}
const cuts = (chunks: Buffer[]) => chunks.map((chunk) => chunk.length).join('+');

/** What the rewriter has passed on once `chunks` are written, while the rest of the document has not come yet. */
async function emittedSoFar(stream: HeadRewriter, chunks: Buffer[]): Promise<string> {
  const out: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => out.push(chunk));
  for (const chunk of chunks) stream.write(chunk);
  await nextTurn();
  await nextTurn();
  return Buffer.concat(out).toString('latin1');
}

describe('HeadRewriter: an early-flushed head', () => {
  // The origin flushes this, and the rest seconds later.
  const flushed = '<!doctype html><html><head><title>x</title><link rel=stylesheet href="/style.css"><link rel=preload as=script href="/app.js">';
  const injected = flushed.replace('<head>', `<head>${MARKUP}`);

  it('with a charset in the Content-Type, passes on the markup and every byte received before the rest arrives', async () => {
    for (const chunks of chunkings(Buffer.from(flushed, 'latin1'))) {
      assert.equal(await emittedSoFar(rewriter({ transportCharset: true }), chunks), injected, cuts(chunks));
    }
  });

  it('without one, holds the head back for a <meta charset> that may still come in the first 1,024 bytes', async () => {
    for (const chunks of chunkings(Buffer.from(flushed, 'latin1'))) {
      // However long this machine takes between the writes and the look (a pause of the site's ends the wait: the next test).
      const early = await emittedSoFar(rewriter({ charsetWaitMs: 60_000 }), chunks);
      assert.ok(!early.includes(MARKUP) && flushed.startsWith(early) && early.length <= flushed.indexOf('<title>'), `${cuts(chunks)}: ${early}`);
    }
  });

  it('lets it go when the site pauses: the markup and the head follow before the rest arrives, whose policies are still rewritten', async () => {
    const stream = rewriter({ rewriteMetaCsp: (policy) => `${policy}; rewritten` });
    const out: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => out.push(chunk));
    const emitted = () => Buffer.concat(out).toString('latin1');
    stream.write(Buffer.from(flushed, 'latin1'));
    // Before, the head waited for the rest of the document, however long the site took to send it.
    const deadline = Date.now() + 10_000;
    while (emitted() !== injected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(emitted(), injected);
    const rest = '<meta http-equiv=Content-Security-Policy content="script-src \'self\'"><meta charset=utf-8></head><body>late</body></html>';
    stream.end(Buffer.from(rest, 'latin1'));
    await new Promise((resolve) => stream.on('end', resolve).resume());
    assert.equal(emitted(), injected + rest.replace("'self'", "'self'; rewritten"));
  });
});

describe('HeadRewriter: XHTML', () => {
  const xmlDecl = '<?xml version="1.0"?>';
  const refused: Record<string, string> = {
    prefixed: `${xmlDecl}<x:html xmlns:x="${X}"><x:head><x:title>t</x:title></x:head><x:body><x:p>ok</x:p></x:body></x:html>`,
    svgRoot: `${xmlDecl}<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="5" height="5"/><foreignObject><p xmlns="${X}">ok</p></foreignObject></svg>`,
    doctypeSubset: `${xmlDecl}<!DOCTYPE html [<!ENTITY who "ok">]><html xmlns="${X}"><head><title>t</title></head><body><p>&who;</p></body></html>`,
  };
  const accepted: Record<string, string> = {
    plain: `${xmlDecl}<html xmlns="${X}"><head><title>t</title></head><body><p>ok</p></body></html>`,
    noHead: `${xmlDecl}<html xmlns="${X}"><body><p>ok</p></body></html>`,
    commentFirst: `${xmlDecl}<!-- c --><html xmlns="${X}"><head><title>t</title></head><body><p>ok</p></body></html>`,
    cdataHead: `${xmlDecl}<html xmlns="${X}"><head><title>t</title><script><![CDATA[ var s = "<head>"; ]]></script></head><body><p>ok</p></body></html>`,
    headAttrGt: `${xmlDecl}<html xmlns="${X}"><head profile="a>b"><title>t</title></head><body><p>ok</p></body></html>`,
    doctype: `${xmlDecl}<!DOCTYPE html><html xmlns="${X}"><head><title>t</title></head><body><p>ok</p></body></html>`,
  };

  it('passes a document of another shape through byte for byte, and reports it, at every chunking', async () => {
    for (const [name, doc] of Object.entries(refused)) {
      const bytes = Buffer.from(doc, 'latin1');
      for (const chunks of chunkings(bytes)) {
        const reasons: string[] = [];
        const out = await buffer(Readable.from(chunks).pipe(rewriter({ xml: true, onPassThrough: (reason) => reasons.push(reason) })));
        assert.equal(out.toString('latin1'), doc, `${name} cut ${cuts(chunks)}`);
        assert.deepEqual(reasons, ['unsupported-xhtml'], `${name} cut ${cuts(chunks)}`);
      }
    }
  });

  it('injects inside the root <html>: prolog and root start tag untouched, everything else in place', async () => {
    for (const [name, doc] of Object.entries(accepted)) {
      const rootEnd = doc.indexOf('>', doc.indexOf('<html')) + 1;
      const closing = doc.lastIndexOf('</html>');
      for (const chunks of chunkings(Buffer.from(doc, 'latin1'))) {
        const reasons: string[] = [];
        const out = (await buffer(Readable.from(chunks).pipe(rewriter({ xml: true, onPassThrough: (reason) => reasons.push(reason) })))).toString('latin1');
        const at = out.indexOf(MARKUP);
        const where = `${name} cut ${cuts(chunks)}`;
        assert.ok(at >= rootEnd && at <= closing, `${where}: ${out}`);
        assert.equal(out.slice(0, at) + out.slice(at + MARKUP.length), doc, where);
        assert.deepEqual(reasons, [], where);
      }
    }
  });

  it('reports a UTF-16 page (by BOM) it leaves alone', async () => {
    const reasons: string[] = [];
    const page = Buffer.from('\ufeff<html><head></head></html>', 'utf16le');
    assert.deepEqual(await buffer(Readable.from([page]).pipe(rewriter({ onPassThrough: (reason) => reasons.push(reason) }))), page);
    assert.deepEqual(reasons, ['unsupported-charset']);
  });
});

describe('HeadRewriter: a document that came with no type (sniffHtml)', () => {
  const run = async (chunks: Buffer[], options: Partial<HeadRewriterOptions> = {}) => {
    const reasons: string[] = [];
    const out = await buffer(Readable.from(chunks).pipe(rewriter({ sniffHtml: true, charsetWaitMs: 60_000, onPassThrough: (reason) => reasons.push(reason), ...options })));
    return { out: out.toString('latin1'), reasons };
  };

  it('injects into one whose first bytes a browser takes for HTML, at every chunking', async () => {
    for (const [doc, injected] of [
      ['<html><head><title>t</title></head><body>x', `<html><head>${MARKUP}<title>t</title></head><body>x`],
      [' \n<p>x', ` \n${MARKUP}<p>x`],
      ['<!-- c --><b>x', `<!-- c -->${MARKUP}<b>x`],
    ] as const) {
      for (const chunks of chunkings(Buffer.from(doc, 'latin1'))) assert.deepEqual(await run(chunks), { out: injected, reasons: [] }, `${doc} cut ${cuts(chunks)}`);
    }
  });

  it('passes any other through byte for byte, and reports it, at every chunking', async () => {
    for (const doc of ['hello <b>x</b>', '\u00ef\u00bb\u00bf<html><head></head>', '<?xml version="1.0"?><html><head></head>', '<ht', '', `${' '.repeat(600)}<p>x`]) {
      for (const chunks of chunkings(Buffer.from(doc, 'latin1'))) {
        assert.deepEqual(await run(chunks), { out: doc, reasons: ['not-html'] }, `${JSON.stringify(doc.slice(0, 20))} cut ${cuts(chunks)}`);
      }
    }
  });

  it('keeps the injected one HTML to the browser: a <meta charset> copied in front of the markup follows a <head>', async () => {
    const doc = '<b>x</b><meta charset="utf-8"><p>\u00e9</p>';
    for (const chunks of chunkings(Buffer.from(doc, 'latin1'))) {
      const { out, reasons } = await run(chunks);
      assert.match(out, /^<head><meta charset="utf-8"\/?>/, cuts(chunks));
      assert.equal(out.slice(out.indexOf(MARKUP) + MARKUP.length), doc, cuts(chunks));
      assert.deepEqual(reasons, []);
    }
    // A document with a type is told by its type: nothing goes in front.
    assert.match((await run([Buffer.from(doc, 'latin1')], { sniffHtml: false })).out, /^<meta charset/);
  });

  it('waits for the bytes that tell, and only for those: a site that sends whitespace first, then the page', async () => {
    const stream = rewriter({ sniffHtml: true, transportCharset: true });
    const out: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => out.push(chunk));
    stream.write(Buffer.from('  \n<'));
    await nextTurn();
    assert.equal(Buffer.concat(out).toString('latin1'), '');
    stream.write(Buffer.from('p>x'));
    await nextTurn();
    assert.equal(Buffer.concat(out).toString('latin1'), `  \n${MARKUP}<p>x`);
  });
});

/** How much memory `stream` keeps for `bytes` written to it one byte per chunk, as Node's HTTP parser hands on a chunked body of one-byte chunks. */
async function growthWhileTrickled(stream: HeadRewriter, bytes: Buffer): Promise<number> {
  collectGarbage();
  const before = process.memoryUsage();
  for (let at = 0; at < bytes.length; at += 1) stream.write(bytes.subarray(at, at + 1));
  await nextTurn();
  collectGarbage();
  const after = process.memoryUsage();
  return after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
}

describe('HeadRewriter: a head sent a byte at a time', () => {
  it('costs about what it holds: 256 KiB of one-byte chunks held back take under 4 MiB of memory, and come out whole', async () => {
    const comment = 'x'.repeat(256 * 1024);
    const stream = rewriter();
    const out: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => out.push(chunk));
    const grew = await growthWhileTrickled(stream, Buffer.from(`<!doctype html><html><!-- ${comment}`, 'latin1'));
    // Kept as they came, each byte cost ~190 bytes (1 MiB held: 195 MB).
    assert.ok(grew < 4 * MiB, `${(grew / MiB).toFixed(1)} MiB for ${comment.length} bytes held`);
    assert.equal(Buffer.concat(out).toString('latin1'), '<!doctype html><html>', 'the open comment is still held');
    stream.end(Buffer.from('--><head></head>', 'latin1'));
    await new Promise((resolve) => stream.on('end', resolve));
    assert.ok(Buffer.concat(out).toString('latin1') === `<!doctype html><html><!-- ${comment}--><head>${MARKUP}</head>`, 'the document came out whole, the markup in its head');
  });

  it('keeps what it passes on as small as what it passes: 100,000 one-byte chunks waiting for a reader take under 16 MiB', async () => {
    // Once the markup is in, each chunk goes on at once (here inside a <title>); each took a 16 KiB block of its own once: 269 MiB here.
    const title = 'x'.repeat(100_000);
    const stream = rewriter();
    stream.write(Buffer.from('<!doctype html><html><head><meta charset=utf-8><title>', 'latin1'));
    const grew = await growthWhileTrickled(stream, Buffer.from(title, 'latin1'));
    assert.ok(grew < 16 * MiB, `${(grew / MiB).toFixed(1)} MiB for ${title.length} bytes passed on and not yet read`);
    stream.end('</title></head>');
    const out = (await buffer(stream)).toString('latin1');
    assert.ok(out === `<!doctype html><html><head><meta charset=utf-8>${MARKUP}<title>${title}</title></head>`, 'the document came out whole');
  });
});

describe('HeadRewriter: what all documents hold back together', () => {
  it('over the cap, a document holding much stops looking: its markup goes where it can now, and its held bytes stream on', async () => {
    const heldBytes = createHeldBytes(80 * 1024);
    const comment = 'a'.repeat(70 * 1024);
    // A head that never ends: a comment before <head>, still open.
    const opening = '<!doctype html><html><!-- ';
    const first = rewriter({ heldBytes });
    const second = rewriter({ heldBytes });
    assert.equal(await emittedSoFar(first, [Buffer.from(opening + comment, 'latin1')]), '<!doctype html><html>', 'the first document holds its comment: the head may still come');
    assert.equal(heldBytes.held, '<!-- '.length + comment.length);
    const secondOut = await emittedSoFar(second, [Buffer.from(opening + comment, 'latin1')]);
    assert.equal(secondOut, `<!doctype html><html>${MARKUP}<!-- ${comment}`, 'over the cap, the second injects before the comment and passes everything on');
    assert.equal(heldBytes.held, '<!-- '.length + comment.length, 'only the first is still held');
    first.destroy();
    second.destroy();
    assert.equal(heldBytes.held, 0, 'a document that ends gives its share back');
  });

  it('over the cap, an ordinary page (holding little) is not cut: its markup still waits for the end of its DOCTYPE', async () => {
    const heldBytes = createHeldBytes(1000);
    heldBytes.add(5000); // documents filling the cap
    const page = rewriter({ heldBytes });
    assert.equal(await emittedSoFar(page, [Buffer.from('<!DOCTYPE ht', 'latin1')]), '', 'the DOCTYPE is held whole, not split by the markup');
    page.destroy();
  });

  it('a document that finishes gives its share back', async () => {
    const heldBytes = createHeldBytes(1 << 20);
    const out = await buffer(Readable.from([Buffer.from('<html><!-- x'), Buffer.from(' --><head></head><body>b</body></html>')]).pipe(rewriter({ heldBytes })));
    assert.match(out.toString(), /<head><script data-aiplugs-test/);
    assert.equal(heldBytes.held, 0);
  });
});
