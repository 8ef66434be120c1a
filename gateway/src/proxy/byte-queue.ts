/** Chunks smaller than this are copied into shared blocks rather than kept as they came. */
const COPY_BELOW = 1024;
const BLOCK_BYTES = 16 * 1024;
const EMPTY = Buffer.alloc(0);

/**
 * Bytes held in order and taken from the front, costing about their own size however they were
 * chunked. A site can send a document's head one byte per chunk, and a Buffer kept per byte costs
 * ~190 bytes of memory, where what a document may hold is counted in bytes (`proxy.max_head_bytes`,
 * held-bytes.ts): 1 MiB held once took 195 MB. Small chunks are copied into 16 KiB blocks.
 *
 * @example
 *   const queue = new ByteQueue();
 *   queue.push(Buffer.from('<!doctype html>'));
 *   queue.take(9, (piece) => out.push(piece)); // '<!doctype'
 */
export class ByteQueue {
  private readonly parts: Buffer[] = [];
  private first = 0;
  /** The block small chunks are copied into, and how much of it is used (what lies before is never written again). */
  private block: Buffer | null = null;
  private blockUsed = 0;

  push(chunk: Buffer): void {
    if (chunk.byteLength === 0) return;
    if (chunk.byteLength >= COPY_BELOW) {
      this.parts.push(chunk);
      return;
    }
    let block = this.block;
    if (!block || this.blockUsed + chunk.byteLength > block.byteLength) {
      block = this.block = Buffer.allocUnsafeSlow(BLOCK_BYTES);
      this.blockUsed = 0;
    }
    const from = this.blockUsed;
    this.blockUsed += chunk.copy(block, from);
    // The last part grows when it ends where this chunk went; else the chunk is a part of its own in
    // the same block (taken parts leave room behind them that a block per chunk would waste).
    const last = this.parts.length > this.first ? this.parts[this.parts.length - 1]! : null;
    if (last && last.buffer === block.buffer && last.byteOffset + last.byteLength === block.byteOffset + from) {
      this.parts[this.parts.length - 1] = block.subarray(last.byteOffset - block.byteOffset, this.blockUsed);
    } else {
      this.parts.push(block.subarray(from, this.blockUsed));
    }
  }

  /** Removes the first `count` bytes (there must be as many), handing each piece to `sink`, or dropping them. */
  take(count: number, sink: ((piece: Buffer) => void) | null): void {
    while (count > 0) {
      const head = this.parts[this.first]!;
      const taken = Math.min(head.byteLength, count);
      sink?.(taken === head.byteLength ? head : head.subarray(0, taken));
      count -= taken;
      if (taken === head.byteLength) {
        this.parts[this.first] = EMPTY;
        this.first += 1;
      } else {
        this.parts[this.first] = head.subarray(taken);
      }
    }
    if (this.first > 64 && this.first * 2 > this.parts.length) {
      this.parts.splice(0, this.first);
      this.first = 0;
    }
  }
}
