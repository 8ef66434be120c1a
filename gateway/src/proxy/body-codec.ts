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
 * `deflate` should be zlib-wrapped (RFC 9110) but some servers send raw DEFLATE. A zlib stream's
 * first byte has compression method 8 in its low nibble and the header is a multiple of 31;
 * anything else is treated as raw, as browsers do.
 */
class DeflateDecoder extends Transform {
  private inner: Transform | null = null;
  private first: Buffer | null = null;

  private start(header: Buffer): Transform {
    const isZlib = header.length >= 2 && (header[0]! & 0x0f) === 8 && ((header[0]! << 8) | header[1]!) % 31 === 0;
    const inner = isZlib ? zlib.createInflate(lenient) : zlib.createInflateRaw(lenient);
    inner.on('data', (data: Buffer) => {
      if (!this.push(data)) inner.pause();
    });
    inner.on('error', (error) => this.destroy(error));
    this.inner = inner;
    return inner;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.inner) {
      // The two header bytes may arrive split across chunks.
      chunk = this.first ? Buffer.concat([this.first, chunk]) : chunk;
      if (chunk.length < 2) {
        this.first = chunk;
        return callback();
      }
      this.first = null;
      this.start(chunk);
    }
    // zlib calls back once it has consumed the chunk; while our reader is slow, `inner` stays
    // paused, so it stops consuming and the upstream waits (backpressure end to end).
    this.inner!.write(chunk, () => callback());
  }

  override _read(size: number): void {
    this.inner?.resume();
    super._read(size);
  }

  override _flush(callback: TransformCallback): void {
    const inner = this.inner ?? (this.first ? this.start(this.first) : null);
    if (!inner) return callback();
    inner.once('end', () => callback());
    if (this.first) inner.end(this.first);
    else inner.end();
    this.first = null;
  }
}

const DECODERS: Record<string, DecoderFactory> = {
  gzip: () => zlib.createGunzip(lenient),
  'x-gzip': () => zlib.createGunzip(lenient),
  deflate: () => new DeflateDecoder(),
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

/** True when every coding of `contentEncoding` can be decoded here (identity and none included). */
export function canDecode(contentEncoding: string | undefined): boolean {
  return codings(contentEncoding).every((coding) => coding in DECODERS);
}

/**
 * Fresh decoder stages for a body, to pipe in order (last applied is undone first); `[]` for an
 * identity body. Throws for a coding `canDecode` rejects.
 *
 * @example
 *   pipeline(upstream, ...createDecoders('gzip'), rewrite, client, done)
 */
export function createDecoders(contentEncoding: string | undefined): Transform[] {
  return codings(contentEncoding)
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
