import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRandomPool } from './random-pool.js';

describe('createRandomPool', () => {
  it('hands out each byte once: no two values repeat, across refills too', () => {
    const take = createRandomPool(64);
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i += 1) seen.add(take(16).toString('hex'));
    assert.equal(seen.size, 1000);
  });

  it('gives copies that a refill does not change, of the size asked for', () => {
    const take = createRandomPool(32);
    const first = take(32);
    const kept = Buffer.from(first);
    take(32);
    assert.deepEqual(first, kept);
    assert.equal(take(5).length, 5);
  });

  it('is not all zeros or constant, and refuses more than a block at once', () => {
    const take = createRandomPool(1024);
    const bytes = take(1024);
    assert.ok(new Set(bytes).size > 100, 'a 1 KiB sample covers most byte values');
    assert.throws(() => take(1025), RangeError);
  });
});
