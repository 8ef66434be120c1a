import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGateway } from '../../gateway/build/build.js';

/**
 * The e2e suites drive the compiled gateway (gateway/bin/aiplugs.js runs gateway/dist): rebuild it
 * first when the sources changed since the last build, so a stale build is never what gets tested.
 * Their temporary folders, their browsers' profiles and what those leave behind go in one folder
 * (TMPDIR, which the workers inherit) removed when the run ends: a run leaves nothing in /tmp.
 * Its tmp/ is sticky and open to every account, as /tmp is (see scripts/run-unit-tests.mjs).
 */
export default async function globalSetup(): Promise<() => void> {
  if (await buildGateway()) console.log('Rebuilt gateway/dist: it was older than the sources.');
  const scratch = mkdtempSync(join(tmpdir(), 'aiplugs-e2e-run-'));
  const testTmp = join(scratch, 'tmp');
  mkdirSync(testTmp);
  chmodSync(scratch, 0o755);
  chmodSync(testTmp, 0o1777);
  process.env.TMPDIR = testTmp;
  return () => rmSync(scratch, { recursive: true, force: true });
}
