import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTokenBucket } from './token-bucket.js';

describe('createTokenBucket', () => {
  it('allows a burst, then refuses until time refills it at the given rate', () => {
    let time = 0;
    const bucket = createTokenBucket({ ratePerSecond: 2, burst: 3, now: () => time });
    assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [true, true, true, false]);
    time += 499;
    assert.equal(bucket.take(), false, 'just under one token after 499 ms at 2/s');
    time += 1;
    assert.equal(bucket.take(), true);
    assert.equal(bucket.take(), false);
  });

  it('never holds more than the burst, however long it was idle', () => {
    let time = 0;
    const bucket = createTokenBucket({ ratePerSecond: 100, burst: 2, now: () => time });
    time += 3_600_000;
    assert.deepEqual([bucket.take(), bucket.take(), bucket.take()], [true, true, false]);
  });

  it('supports rates below one per second', () => {
    let time = 0;
    const bucket = createTokenBucket({ ratePerSecond: 0.5, burst: 1, now: () => time });
    assert.equal(bucket.take(), true);
    time += 1999;
    assert.equal(bucket.take(), false);
    time += 1;
    assert.equal(bucket.take(), true);
  });
});
