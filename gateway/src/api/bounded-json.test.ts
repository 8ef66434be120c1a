import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_JSON_DEPTH, nestsDeeperThan, parseBoundedJson } from './bounded-json.js';

const nested = (depth: number, open = '[', close = ']') => `${open.repeat(depth)}${close.repeat(depth)}`;

test('the depth limit counts objects and arrays alike, and only outside strings', () => {
  assert.equal(nestsDeeperThan(nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH), false);
  assert.equal(nestsDeeperThan(nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH), true);
  assert.equal(nestsDeeperThan('{"a":[{"b":[1]}]}', 4), false);
  assert.equal(nestsDeeperThan('{"a":[{"b":[1]}]}', 3), true);
  // Brackets and escaped quotes inside strings are text, not nesting.
  assert.equal(nestsDeeperThan(JSON.stringify({ text: '[[[[[[["\\"[[[[' }), 1), false);
  assert.equal(nestsDeeperThan(JSON.stringify(['a\\', ['b']]), 1), true);
});

test('parseBoundedJson refuses what nests too deep before parsing, and what is not JSON', () => {
  assert.deepEqual(parseBoundedJson('{"type":"ping","t":[1,{"x":2}]}'), { ok: true, value: { type: 'ping', t: [1, { x: 2 }] } });
  assert.deepEqual(parseBoundedJson(`{"t":${nested(6000)}}`), { ok: false, problem: 'too_deep' });
  assert.deepEqual(parseBoundedJson('{"t":'), { ok: false, problem: 'not_json' });
  // What passes can be written back out: the limit is far below where serializing overflows.
  const deepest = parseBoundedJson(nested(MAX_JSON_DEPTH - 1, '{"a":', '}').replace(/\{"a":\}/, '{"a":1}'));
  assert.equal(deepest.ok, true);
  assert.doesNotThrow(() => JSON.stringify(deepest.ok && deepest.value));
});
