/**
 * The patch's tests on Node 22 as well: `engines` allows Node after 20, where a corked HTTP
 * response keeps its chunked writes to itself and can end before them (nodejs/node#60432), so a
 * change that is right on Node 20 can cut documents short there. `AIPLUGS_TEST_NODE22` names the
 * binary (`.ci/run` installs it from the npm registry's `node@22`); outside CI, without it, this skips.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { it } from 'node:test';
import { runPatchTests } from '../../../test/support/patch-test-run.js';
import { skipOutsideCi } from '../../../test/support/required-tools.js';

const NODE22 = process.env.AIPLUGS_TEST_NODE22 ?? '';

const skip = NODE22 && existsSync(NODE22) ? false : skipOutsideCi('no Node 22 binary (set AIPLUGS_TEST_NODE22; `npm install --prefix <dir> node@22` gives one)', 'node@22');

it('every test of mockttp-patch.test.ts passes on Node 22', { skip }, async (t) => {
  // Every test is to pass here, so the file gets time to finish: it took 55–60 s in CI on 2 busy cores,
  // and at 60 s its last test was cancelled.
  const { results, code, output } = await runPatchTests(NODE22, process.env, 180_000);
  t.diagnostic(`${results.length} tests ran on ${NODE22}`);
  assert.ok(results.length >= 13, `expected every patch test to run, got ${results.length}:\n${output}`);
  assert.deepEqual(results.filter((result) => !result.passed).map((result) => result.name), [], 'these fail on Node 22');
  assert.equal(code, 0, output);
});
