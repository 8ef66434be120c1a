/**
 * The patch tests must notice a missing patch: runs mockttp-patch.test.ts against a copy of
 * mockttp with our patch reversed and requires every one of its tests to fail. A test that still
 * passes there checks nothing the patch does.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { runPatchTests } from '../../../test/support/patch-test-run.js';
import { withUnpatchedMockttp } from '../../../test/support/unpatched-mockttp.js';

it('every test of mockttp-patch.test.ts fails on an unpatched mockttp', async (t) => {
  // Expected noise from the unpatched run (its MaxListenersExceededWarning, for one) shows on failure only.
  // Tests that wait for what the unpatched proxy never sends fail at their own time limits: the run
  // took 103 s on a quiet machine, and cut at 60 s its last tests were cancelled, proving nothing.
  const { results, timedOut, output } = await runPatchTests(process.execPath, withUnpatchedMockttp(process.env), 360_000);
  t.diagnostic(`${results.length} tests ran against the unpatched copy`);
  assert.ok(results.length >= 13, `expected every patch test to run, got ${results.length}:\n${output}`);
  assert.deepEqual(results.filter((result) => result.passed).map((result) => result.name), [], 'these pass without the patch');
  assert.equal(timedOut, false, `the time limit ended the run after ${results.length} tests: the rest showed nothing`);
});
