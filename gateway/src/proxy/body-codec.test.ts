import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import { canDecode, createDecoders, decodableAcceptEncoding } from './body-codec.js';

const text = Buffer.from('<!doctype html><html><head><title>é</title></head><body>' + 'hello '.repeat(20_000) + '</body></html>');

/** Feeds `bytes` in small chunks, as a network would, through the decoders of `encoding`. */
async function decode(bytes: Buffer, encoding: string | undefined, chunkSize = 1000): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize) chunks.push(bytes.subarray(at, at + chunkSize));
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out.push(chunk);
      callback();
    },
  });
  await pipeline([Readable.from(chunks), ...createDecoders(encoding), sink]);
  return Buffer.concat(out);
}

describe('canDecode', () => {
  it('accepts identity, gzip, deflate, br and lists of them; rejects unknown codings', () => {
    for (const encoding of [undefined, '', 'identity', 'gzip', 'x-gzip', 'deflate', 'br', 'GZIP', 'gzip, br']) assert.equal(canDecode(encoding), true, encoding);
    assert.equal(canDecode('compress'), false);
    // Three stacked codings at most: each is a zlib stream, and a head can name thousands.
    assert.equal(canDecode('gzip, br, deflate'), true);
    assert.equal(canDecode('gzip, gzip, gzip, gzip'), false);
    assert.equal(canDecode(Array(20_000).fill('br').join(',')), false);
    assert.throws(() => createDecoders('br, br, br, br'), /4 stacked content-encodings/);
    assert.equal(canDecode('gzip, sdch'), false);
  });

  it('accepts zstd exactly when this Node can decompress it', () => {
    assert.equal(canDecode('zstd'), typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress === 'function');
  });
});

describe('createDecoders', () => {
  it('decodes gzip, zlib deflate, raw deflate and brotli split across chunks', async () => {
    assert.deepEqual(await decode(zlib.gzipSync(text), 'gzip'), text);
    assert.deepEqual(await decode(zlib.deflateSync(text), 'deflate'), text);
    assert.deepEqual(await decode(zlib.deflateRawSync(text), 'deflate'), text);
    assert.deepEqual(await decode(zlib.brotliCompressSync(text), 'br'), text);
    assert.deepEqual(await decode(zlib.deflateSync(text), 'deflate', 1), text);
  });

  it('undoes stacked codings last first, and leaves identity bodies alone', async () => {
    assert.deepEqual(await decode(zlib.brotliCompressSync(zlib.gzipSync(text)), 'gzip, br'), text);
    assert.deepEqual(await decode(text, 'identity'), text);
    assert.deepEqual(createDecoders(undefined), []);
  });

  it('takes empty pieces and empty bodies in its stride', async () => {
    const gzip = zlib.gzipSync(text);
    const out: Buffer[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _encoding, callback) => (out.push(chunk), callback()) });
    await pipeline([Readable.from([Buffer.alloc(0), gzip.subarray(0, 5), Buffer.alloc(0), gzip.subarray(5)]), ...createDecoders('gzip'), sink]);
    assert.deepEqual(Buffer.concat(out), text);
    // A body of one empty piece (a 200 with no content): no header to wait for, nothing to refuse.
    const empty: Buffer[] = [];
    await pipeline([Readable.from([Buffer.alloc(0)]), ...createDecoders('gzip'), new Writable({ write: (chunk: Buffer, _encoding, callback) => (empty.push(chunk), callback()) })]);
    assert.deepEqual(empty, []);
  });

  it('keeps what a truncated body decodes to, as browsers do', async () => {
    const gzip = zlib.gzipSync(text);
    const partial = await decode(gzip.subarray(0, gzip.length - 12), 'gzip');
    assert.ok(partial.length > 0 && text.subarray(0, partial.length).equals(partial));
  });

  it('decodes the first gzip member and ignores what follows, as browsers do (a newline some servers add failed the page)', async () => {
    const gzip = zlib.gzipSync(text);
    for (const chunkSize of [1, 7, 1000, gzip.length + 10]) {
      assert.deepEqual(await decode(Buffer.concat([gzip, Buffer.from('\n\n')]), 'gzip', chunkSize), text, `trailing newlines, ${chunkSize}-byte chunks`);
      assert.deepEqual(await decode(Buffer.concat([gzip, zlib.gzipSync('second member')]), 'gzip', chunkSize), text, `two members, ${chunkSize}-byte chunks`);
    }
    // Header fields a server may set: a file name, a comment, an extra field, a header CRC.
    const named = zlib.gzipSync(text);
    const header = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 2 | 4 | 8 | 16, 0, 0, 0, 0, 0, 3]), Buffer.from([3, 0, 1, 2, 3]), Buffer.from('page.html\0'), Buffer.from('a comment\0'), Buffer.from([0xab, 0xcd])]);
    assert.deepEqual(await decode(Buffer.concat([header, named.subarray(10)]), 'x-gzip', 3), text);
  });

  it('fails loudly on a corrupt body and on a coding it cannot decode', async () => {
    await assert.rejects(decode(Buffer.from('definitely not gzip'), 'gzip'));
    await assert.rejects(decode(Buffer.from([0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 3, 0x61, 0x62]), 'gzip'), /header never ends/);
    // A file name that never ends, sent a byte at a time, is refused once it passes 4 KiB.
    await assert.rejects(decode(Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 3]), Buffer.alloc(5000, 0x61)]), 'gzip', 1), /header never ends/);

    assert.throws(() => createDecoders('compress'), /compress/);
  });
});

describe('decodableAcceptEncoding', () => {
  it('keeps the codings we decode, in the client order with their q-values', () => {
    assert.equal(decodableAcceptEncoding('gzip, deflate, br;q=0.9, compress'), 'gzip, deflate, br;q=0.9');
    assert.equal(decodableAcceptEncoding('compress, *'), 'identity');
    assert.equal(decodableAcceptEncoding(''), 'identity');
  });

  it('drops zstd where this Node cannot decode it', () => {
    const zstd = typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress === 'function';
    assert.equal(decodableAcceptEncoding('gzip, deflate, br, zstd'), zstd ? 'gzip, deflate, br, zstd' : 'gzip, deflate, br');
  });
});
