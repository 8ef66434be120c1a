/**
 * The patch's tests on Node 22 as well: `engines` allows Node after 20, where a corked HTTP
 * response keeps its chunked writes to itself and can end before them (nodejs/node#60432), so a
 * change that is right on Node 20 can cut documents short there. `AIPLUGS_TEST_NODE22` names the
 * binary (`.ci/run` installs it from the npm registry's `node@22`); outside CI, without it, this skips.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isCi } from '../../../test/support/required-tools.js';

const PATCH_TEST = fileURLToPath(new URL('./mockttp-patch.test.ts', import.meta.url));
const NODE22 = process.env.AIPLUGS_TEST_NODE22 ?? '';

function skipReason(): string | false {
  if (NODE22 && existsSync(NODE22)) return false;
  const reason = 'no Node 22 binary (set AIPLUGS_TEST_NODE22; `npm install --prefix <dir> node@22` gives one)';
  if (isCi()) throw new Error(`${reason}: CI must not skip this test; .ci/run installs it`);
  return reason;
}

it('every test of mockttp-patch.test.ts passes on Node 22', { skip: skipReason() }, async (t) => {
  // Without NODE_TEST_CONTEXT the child is a test run of its own, not a file of this one.
  const { NODE_TEST_CONTEXT: _ignored, ...env } = process.env;
  const child = spawn(NODE22, ['--import', 'tsx', '--test', '--test-reporter=tap', PATCH_TEST], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tap = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (tap += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  const results = [...tap.matchAll(/^ {4}(not )?ok \d+ - (.+?)(?: # SKIP.*)?$/gm)].map((match) => ({ passed: !match[1], name: match[2] ?? '' }));
  t.diagnostic(`${results.length} tests ran on ${NODE22}`);
  assert.ok(results.length >= 13, `expected every patch test to run, got ${results.length}:\n${tap.slice(-2000)}\n${stderr.slice(-2000)}`);
  assert.deepEqual(results.filter((result) => !result.passed).map((result) => result.name), [], 'these fail on Node 22');
  assert.equal(code, 0, stderr.slice(-2000));
});
