/**
 * Splits a byte stream into lines, holding at most `maxLineBytes` of any one line: a longer line is
 * handed to `onOverlong` as soon as it is known to be too long (its first pieces, at least
 * `maxLineBytes` of it, not copied), and the rest of it up to its newline is skipped. Lines are
 * passed on as bytes, a trailing `\r` kept. Shared by a worker's printed output (cut, then logged)
 * and its answer channel (an over-long answer fails its request): a backend must not grow the
 * gateway's memory with a line that never ends.
 *
 * @example
 *   const lines = createByteLines({ maxLineBytes: 16_384, onLine: (line) => log(line), onOverlong: (start) => log(firstBytes(start, 16_384)) });
 *   stream.on('data', lines.push);
 *   stream.on('end', lines.end);
 */
export function createByteLines(options: { maxLineBytes: number; onLine: (line: Buffer) => void; onOverlong: (start: readonly Buffer[]) => void }) {
  let held: Buffer[] = [];
  let heldBytes = 0;
  let skipping = false;
  const take = (): Buffer => {
    const line = held.length === 1 ? held[0]! : Buffer.concat(held);
    held = [];
    heldBytes = 0;
    return line;
  };
  /** Adds a piece of the current line; true when that made it too long (it is then handed over and skipped). */
  const hold = (piece: Buffer): boolean => {
    if (heldBytes + piece.length <= options.maxLineBytes) {
      if (piece.length > 0) {
        held.push(piece);
        heldBytes += piece.length;
      }
      return false;
    }
    const start = [...held, piece];
    held = [];
    heldBytes = 0;
    skipping = true;
    options.onOverlong(start);
    return true;
  };
  return {
    push(chunk: Buffer): void {
      let start = 0;
      for (let newline = chunk.indexOf(0x0a); newline !== -1; newline = chunk.indexOf(0x0a, start)) {
        const piece = chunk.subarray(start, newline);
        start = newline + 1;
        // The newline of a line being skipped (or of one hold() just found too long) ends it.
        if (skipping || hold(piece)) {
          skipping = false;
          continue;
        }
        options.onLine(take());
      }
      if (!skipping) hold(chunk.subarray(start));
    },
    /** The stream ended: its last line, if it had no newline. */
    end(): void {
      if (!skipping && heldBytes > 0) options.onLine(take());
      skipping = false;
    },
  };
}

/** The first `bytes` of `pieces` as one buffer, copying no more than that of them. */
export function firstBytes(pieces: readonly Buffer[], bytes: number): Buffer {
  const taken: Buffer[] = [];
  let length = 0;
  for (const piece of pieces) {
    if (length >= bytes) break;
    const part = piece.subarray(0, bytes - length);
    taken.push(part);
    length += part.length;
  }
  return Buffer.concat(taken);
}
