import { randomFillSync } from 'node:crypto';

/**
 * Unpredictable bytes for values made per document (CSP nonces, capability sessions), taken from a
 * block the system's CSPRNG fills once per `blockBytes`, as Node's own randomUUID does: one
 * `randomBytes(16)` call cost ~7 µs, and two of them ~5% of an injected document's CPU. Each byte
 * is handed out once; the block is refilled in place only after every byte of it was.
 *
 * @example const take = createRandomPool(); const nonce = take(16).toString('base64');
 */
export function createRandomPool(blockBytes = 4096): (size: number) => Buffer {
  const block = Buffer.allocUnsafe(blockBytes);
  let offset = blockBytes;
  return (size) => {
    if (size > blockBytes) throw new RangeError(`at most ${blockBytes} bytes at a time`);
    if (offset + size > blockBytes) {
      randomFillSync(block);
      offset = 0;
    }
    // A copy: a caller keeping the bytes must not see them change at the next refill.
    const bytes = Buffer.from(block.subarray(offset, offset + size));
    offset += size;
    return bytes;
  };
}

/** The process's pool for per-document values. */
export const randomFromPool = createRandomPool();
