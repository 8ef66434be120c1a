/**
 * The patch tests must notice a missing patch: runs mockttp-patch.test.ts against a copy of
 * mockttp with our patch reversed and requires every one of its tests to fail. A test that still
 * passes there checks nothing the patch does.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { withUnpatchedMockttp } from '../../../test/support/unpatched-mockttp.js';

const PATCH_TEST = fileURLToPath(new URL('./mockttp-patch.test.ts', import.meta.url));

it('every test of mockttp-patch.test.ts fails on an unpatched mockttp', async (t) => {
  // Without NODE_TEST_CONTEXT the child is a test run of its own, not a file of this one.
  const { NODE_TEST_CONTEXT: _ignored, ...env } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', PATCH_TEST], { env: withUnpatchedMockttp(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let tap = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (tap += chunk.toString()));
  // Expected noise from the unpatched run (its MaxListenersExceededWarning, for one): shown on failure only.
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise((resolve) => child.once('close', resolve));
  // Leaf tests are the indented result lines; suites are at column 0.
  const results = [...tap.matchAll(/^ {4}(not )?ok \d+ - (.+?)(?: # SKIP.*)?$/gm)].map((match) => ({ passed: !match[1], name: match[2] ?? '' }));
  t.diagnostic(`${results.length} tests ran against the unpatched copy`);
  assert.ok(results.length >= 13, `expected every patch test to run, got ${results.length}:\n${tap.slice(-2000)}\n${stderr.slice(-2000)}`);
  assert.deepEqual(results.filter((result) => result.passed).map((result) => result.name), [], 'these pass without the patch');
});
