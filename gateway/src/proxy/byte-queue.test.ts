import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteQueue } from './byte-queue.js';

describe('ByteQueue', () => {
  it('gives the bytes back in order however they were pushed and taken: small chunks copied together, large ones as they came', () => {
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, index) => index % 251));
    for (const sizes of [[1], [1, 2000, 3], [700, 5], [16 * 1024 + 1], [999, 1, 1024]]) {
      for (const takeSize of [1, 13, 4096, 70_000]) {
        const queue = new ByteQueue();
        const out: Buffer[] = [];
        let pushed = 0;
        let taken = 0;
        for (let turn = 0; pushed < bytes.length; turn += 1) {
          const size = Math.min(sizes[turn % sizes.length]!, bytes.length - pushed);
          queue.push(bytes.subarray(pushed, pushed + size));
          pushed += size;
          // Take while pushing, so that the front moves through blocks still being filled.
          const count = Math.min(takeSize, pushed - taken);
          if (turn % 3 === 0) {
            queue.take(count, (piece) => out.push(Buffer.from(piece)));
            taken += count;
          }
        }
        queue.take(pushed - taken, (piece) => out.push(Buffer.from(piece)));
        assert.deepEqual(Buffer.concat(out), bytes, `chunks of ${sizes.join('/')} taken ${takeSize} at a time`);
      }
    }
  });

  it('drops what it is told to drop', () => {
    const queue = new ByteQueue();
    for (const text of ['ab', 'cd', 'e'.repeat(2000), 'fg']) queue.push(Buffer.from(text));
    const out: Buffer[] = [];
    queue.take(3, (piece) => out.push(piece));
    queue.take(2000, null);
    queue.take(3, (piece) => out.push(piece));
    assert.equal(Buffer.concat(out).toString(), 'abcefg');
  });
});
