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
  const { results, output } = await runPatchTests(process.execPath, withUnpatchedMockttp(process.env));
  t.diagnostic(`${results.length} tests ran against the unpatched copy`);
  assert.ok(results.length >= 13, `expected every patch test to run, got ${results.length}:\n${output}`);
  assert.deepEqual(results.filter((result) => result.passed).map((result) => result.name), [], 'these pass without the patch');
});
