import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRingBuffer } from './ring-buffer.js';

test('keeps every item, oldest first, until it is full', () => {
  const ring = createRingBuffer<number>(3);
  assert.deepEqual(ring.toArray(), []);
  ring.push(1);
  ring.push(2);
  assert.deepEqual(ring.toArray(), [1, 2]);
  assert.equal(ring.size, 2);
});

test('past its capacity it drops the oldest and never grows', () => {
  const ring = createRingBuffer<number>(3);
  for (let i = 1; i <= 10; i += 1) {
    ring.push(i);
    assert.ok(ring.size <= 3);
  }
  assert.deepEqual(ring.toArray(), [8, 9, 10]);
  ring.push(11);
  assert.deepEqual(ring.toArray(), [9, 10, 11]);
});

test('a capacity of one keeps the last item', () => {
  const ring = createRingBuffer<string>(1);
  ring.push('a');
  ring.push('b');
  assert.deepEqual(ring.toArray(), ['b']);
});

test('toArray is a copy: changing it changes nothing inside', () => {
  const ring = createRingBuffer<number>(2);
  ring.push(1);
  ring.toArray().push(99);
  assert.deepEqual(ring.toArray(), [1]);
});

test('refuses a capacity that is not a positive integer', () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => createRingBuffer(bad), RangeError);
});
