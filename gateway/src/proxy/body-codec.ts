import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';

/**
 * Streaming decoders for HTTP `Content-Encoding`, so a document can be rewritten as it arrives.
 * The proxy serves a rewritten body with no content-encoding (identity): the browser→proxy hop
 * is loopback, where compressing again would cost CPU and save nothing.
 */

type DecoderFactory = () => Transform;

/** Node 22.15+/23.8+ has zstd; Node 20 does not. Looked up at run time so both typecheck. */
const createZstdDecompress = (zlib as unknown as { createZstdDecompress?: (options?: object) => Transform }).createZstdDecompress;

// Browsers render truncated compressed bodies as far as they go; flushing instead of failing at a
// missing trailer does the same.
const lenient = { finishFlush: zlib.constants.Z_SYNC_FLUSH };

/**
 * Decodes through a zlib stream chosen once the body's first bytes show which (`start`: the
 * stream and how many of those bytes are a header it must not see, or null while more are needed).
 */
class SniffingDecoder extends Transform {
  private inner: Transform | null = null;
  private first: Buffer | null = null;
  /** zlib ends a raw or zlib stream where its data ends, before the body does (a gzip trailer, bytes after it). */
  private innerEnded = false;

  constructor(private readonly choose: (prefix: Buffer, final: boolean) => { inner: Transform; skip: number } | null) {
    super();
  }

  private start(prefix: Buffer, final: boolean): Buffer | null {
    const chosen = this.choose(prefix, final);
    if (!chosen) return null;
    const { inner } = chosen;
    inner.on('data', (data: Buffer) => {
      if (!this.push(data)) inner.pause();
    });
    inner.on('error', (error) => this.destroy(error));
    inner.once('end', () => (this.innerEnded = true));
    this.inner = inner;
    return prefix.subarray(chosen.skip);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk.length === 0) return callback();
    if (!this.inner) {
      // The header may arrive split across chunks.
      const prefix = this.first ? Buffer.concat([this.first, chunk]) : chunk;
      let rest: Buffer | null;
      try {
        rest = this.start(prefix, false);
      } catch (error) {
        return callback(error as Error);
      }
      if (!rest) {
        this.first = prefix;
        return callback();
      }
      this.first = null;
      chunk = rest;
    }
    // zlib calls back once it has consumed the chunk; while our reader is slow, `inner` stays
    // paused, so it stops consuming and the upstream waits (backpressure end to end).
    this.inner!.write(chunk, () => callback());
  }

  override _read(size: number): void {
    this.inner?.resume();
    super._read(size);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A response cut short: the zlib handle goes now, not at garbage collection.
    this.inner?.destroy();
    callback(error);
  }

  override _flush(callback: TransformCallback): void {
    let rest: Buffer | null = null;
    try {
      if (!this.inner && this.first) rest = this.start(this.first, true);
    } catch (error) {
      return callback(error as Error);
    }
    this.first = null;
    const inner = this.inner;
    if (!inner || this.innerEnded) return callback();
    inner.once('end', () => callback());
    if (rest && rest.length > 0) inner.end(rest);
    else inner.end();
  }
}

/**
 * `deflate` should be zlib-wrapped (RFC 9110) but some servers send raw DEFLATE. A zlib stream's
 * first byte has compression method 8 in its low nibble and the header is a multiple of 31;
 * anything else is treated as raw, as browsers do.
 */
function chooseDeflate(prefix: Buffer, final: boolean): { inner: Transform; skip: number } | null {
  if (prefix.length < 2 && !final) return null;
  const isZlib = prefix.length >= 2 && (prefix[0]! & 0x0f) === 8 && ((prefix[0]! << 8) | prefix[1]!) % 31 === 0;
  return { inner: isZlib ? zlib.createInflate(lenient) : zlib.createInflateRaw(lenient), skip: 0 };
}

const GZIP_FLAGS = { headerCrc: 2, extra: 4, name: 8, comment: 16 };
/**
 * A gzip header longer than this (its file name or comment, mostly) is not a page's. Small, as the
 * header is looked for again in all it has so far each time a piece of it arrives.
 */
const MAX_GZIP_HEADER = 4 * 1024;

/** The length of the gzip member header at the start of `bytes` (RFC 1952), or null while it is incomplete. */
export function gzipHeaderLength(bytes: Buffer): number | null {
  if (bytes.length >= 2 && (bytes[0] !== 0x1f || bytes[1] !== 0x8b)) throw new Error('not a gzip body (no gzip magic number)');
  if (bytes.length < 10) return null;
  const flags = bytes[3]!;
  let at = 10;
  if (flags & GZIP_FLAGS.extra) {
    if (bytes.length < at + 2) return null;
    at += 2 + bytes.readUInt16LE(at);
  }
  for (const flag of [GZIP_FLAGS.name, GZIP_FLAGS.comment]) {
    if (!(flags & flag)) continue;
    const end = bytes.indexOf(0, at);
    if (end < 0) return null;
    at = end + 1;
  }
  if (flags & GZIP_FLAGS.headerCrc) at += 2;
  return bytes.length >= at ? at : null;
}

/**
 * gzip as browsers decode it: the first member, whatever follows it. Node's gunzip reads on into
 * what comes after, and failed on the newline or two some servers write after their gzip output
 * (the page, rendered direct, came empty through the proxy). The header is read here and the
 * DEFLATE data inflated raw, which ends at the member's end; like browsers, no CRC is checked.
 */
function chooseGzip(prefix: Buffer, final: boolean): { inner: Transform; skip: number } | null {
  const length = gzipHeaderLength(prefix);
  if (length === null) {
    if (final || prefix.length > MAX_GZIP_HEADER) throw new Error('not a gzip body (its header never ends)');
    return null;
  }
  return { inner: zlib.createInflateRaw(lenient), skip: length };
}

const DECODERS: Record<string, DecoderFactory> = {
  gzip: () => new SniffingDecoder(chooseGzip),
  'x-gzip': () => new SniffingDecoder(chooseGzip),
  deflate: () => new SniffingDecoder(chooseDeflate),
  br: () => zlib.createBrotliDecompress({ finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH }),
  ...(createZstdDecompress ? { zstd: () => createZstdDecompress() } : {}),
};

/** The codings named by a Content-Encoding value, in the order they were applied. */
function codings(contentEncoding: string | undefined): string[] {
  return (contentEncoding ?? '')
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
}

/**
 * Most codings one body may stack to be decoded here. Sites stack two at most ("gzip, br" from a
 * CDN recompressing); each is a zlib stream, and one head of `br, br, …` once made the proxy build
 * 20,000 of them for one page before its body came (300 MB), or made it decode 2,000 layers of a
 * 53 KB body for 24 s. A body of more passes through as the site sent it.
 */
export const MAX_STACKED_CODINGS = 3;

/** True when every coding of `contentEncoding` can be decoded here (identity and none included), and there are few enough. */
export function canDecode(contentEncoding: string | undefined): boolean {
  const named = codings(contentEncoding);
  return named.length <= MAX_STACKED_CODINGS && named.every((coding) => coding in DECODERS);
}

/**
 * Fresh decoder stages for a body, to pipe in order (last applied is undone first); `[]` for an
 * identity body. Throws for a coding `canDecode` rejects.
 *
 * @example
 *   pipeline(upstream, ...createDecoders('gzip'), rewrite, client, done)
 */
export function createDecoders(contentEncoding: string | undefined): Transform[] {
  const named = codings(contentEncoding);
  if (named.length > MAX_STACKED_CODINGS) throw new Error(`Cannot decode ${named.length} stacked content-encodings (at most ${MAX_STACKED_CODINGS})`);
  return named
    .reverse()
    .map((coding) => {
      const create = DECODERS[coding];
      if (!create) throw new Error(`Cannot decode content-encoding "${coding}"`);
      return create();
    });
}

/**
 * The `Accept-Encoding` a proxy can honour when it must read a body, keeping the client's order
 * and q-values for codings we decode and dropping the rest (e.g. zstd on Node 20). Returns
 * `identity` when nothing is left.
 */
export function decodableAcceptEncoding(acceptEncoding: string | undefined): string {
  const kept = (acceptEncoding ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => {
      const coding = part.split(';')[0]?.trim().toLowerCase() ?? '';
      return coding !== '' && (coding === 'identity' || coding === '*' ? false : coding in DECODERS);
    });
  return kept.length > 0 ? kept.join(', ') : 'identity';
}
