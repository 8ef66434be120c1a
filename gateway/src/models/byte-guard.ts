import { Transform } from 'node:stream';

export interface ByteGuardOptions {
  /** Bytes already in the part; the guard counts on from here. */
  offset: number;
  /** The most bytes the part may hold: a chunk that would go past it is never passed on. */
  limit: number;
  /** The error that ends the transfer when the source goes past `limit`. */
  tooLarge: () => Error;
  /** How many bytes may pass between two calls of `check`. */
  checkEvery: number;
  /** Runs every `checkEvery` bytes with the count so far, before the chunk is passed on; rejects to stop. */
  check: (offset: number) => Promise<void>;
}

/**
 * A pass-through that sits between a source and the `.part` file and keeps the transfer within
 * bounds while it streams: a body that never ends (or is longer than it should be) stops at
 * `limit` with nothing past it written, and `check` (the free-space check) holds the next chunk
 * back until it has passed, so the disk cannot fill faster than it is watched.
 *
 * @example
 *   await pipeline(body, createByteGuard({ offset, limit: size, tooLarge, checkEvery: 64 << 20, check }), sink);
 */
export function createByteGuard(options: ByteGuardOptions): Transform {
  let offset = options.offset;
  let sinceCheck = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (offset + chunk.length > options.limit) return callback(options.tooLarge());
      offset += chunk.length;
      sinceCheck += chunk.length;
      if (sinceCheck < options.checkEvery) return callback(null, chunk);
      sinceCheck = 0;
      options.check(offset).then(
        () => callback(null, chunk),
        (error: Error) => callback(error),
      );
    },
  });
}
