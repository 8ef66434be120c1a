#!/usr/bin/env node
// Runs every *.test.ts under gateway/ and test/ with Node's test runner. Node 20's runner does
// not expand glob patterns itself (Node 21+ does), so the file list is built here. Skipped and
// todo tests are listed at the end, by name and reason; under CI=true any of them fails the run
// (a CI machine has every tool installed, so nothing has a reason to skip there).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

function findTests(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : findTests(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

// Some suites read the build's browser bundles (the page runtime, the dashboard) or run the compiled
// gateway: build first when gateway/dist is older than the sources (a no-op otherwise).
const build = spawnSync(process.execPath, ['--import', 'tsx', 'gateway/build/build.ts'], { stdio: 'inherit', cwd: new URL('..', import.meta.url) });
if (build.status !== 0) process.exit(build.status ?? 1);

const files = ['gateway', 'test'].flatMap(findTests).sort();
// The suites' temporary folders (and their browsers', and their children's) go in one folder that
// goes with the run: a run leaves nothing in the machine's /tmp. Like /tmp, every account may make
// its own entries in that TMPDIR and none may touch another's (sticky): some tests run commands as
// a second account (`nobody`), whose tools (tsx's cache) make folders of their own there. The
// skipped-tests log stays outside it, where no other account can put one first.
const scratch = mkdtempSync(join(tmpdir(), 'aiplugs-unit-'));
const testTmp = join(scratch, 'tmp');
mkdirSync(testTmp);
chmodSync(scratch, 0o755);
chmodSync(testTmp, 0o1777);
const skippedLog = join(scratch, 'skipped.jsonl');
const reporters = [
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  `--test-reporter=${new URL('./skipped-tests-reporter.mjs', import.meta.url).href}`,
  `--test-reporter-destination=${skippedLog}`,
];
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...reporters, ...process.argv.slice(2), ...files], { stdio: 'inherit', env: { ...process.env, TMPDIR: testTmp } });

let skipped = [];
try {
  skipped = readFileSync(skippedLog, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
} catch {
  // no log: the runner died before reporting; its own status says so
}
rmSync(scratch, { recursive: true, force: true });

const ci = process.env.CI === 'true' || process.env.CI === '1';
if (skipped.length > 0) {
  console.log(`\n${skipped.length} test(s) did not run:`);
  for (const test of skipped) console.log(`  ${test.kind}: ${test.file ? `${relative(process.cwd(), test.file)} › ` : ''}${test.name}${test.reason ? ` (${test.reason})` : ''}`);
  if (ci) console.log('CI=true: a CI run must not skip anything (install what .ci/run installs); failing the run.');
} else {
  console.log('\nNo test skipped.');
}
process.exit(ci && skipped.length > 0 ? 1 : (result.status ?? 1));
