import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export interface HashFileOptions {
  /** Hash into this object (to continue a download after the bytes already on disk). */
  hash?: Hash;
  /** Only the first `length` bytes. */
  length?: number;
  signal?: AbortSignal;
  /** Bytes hashed so far, called per chunk. */
  onBytes?: (hashedBytes: number) => void;
}

/**
 * Streams a file through SHA-256 without holding it in memory. Returns the hash object (not the
 * digest) so a resumed download can keep feeding it.
 *
 * @example
 *   const { hash, bytes } = await hashFile('/models/m.gguf');
 *   hash.digest('hex');
 */
export async function hashFile(path: string, options: HashFileOptions = {}): Promise<{ hash: Hash; bytes: number }> {
  const hash = options.hash ?? createHash('sha256');
  if (options.length === 0) return { hash, bytes: 0 };
  const stream = createReadStream(path, {
    highWaterMark: 1 << 20,
    ...(options.length !== undefined ? { end: options.length - 1 } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
    options.onBytes?.(bytes);
  }
  return { hash, bytes };
}

/** The hex SHA-256 of a whole file. */
export async function sha256File(path: string, options: Omit<HashFileOptions, 'hash' | 'length'> = {}): Promise<string> {
  return (await hashFile(path, options)).hash.digest('hex');
}
