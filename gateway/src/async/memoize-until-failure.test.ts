import assert from 'node:assert/strict';
import { it } from 'node:test';
import { memoizeUntilFailure } from './memoize-until-failure.js';

it('memoizeUntilFailure shares one promise, and makes a new one after a failure', async () => {
  let made = 0;
  let fail = true;
  const value = memoizeUntilFailure(async () => {
    made += 1;
    if (fail) throw new Error(`attempt ${made}`);
    return made;
  });
  await assert.rejects(value(), /attempt 1/);
  fail = false;
  assert.deepEqual(await Promise.all([value(), value()]), [2, 2]);
  assert.equal(await value(), 2);
  assert.equal(made, 2);
});
