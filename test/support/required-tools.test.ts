import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { TOOLS } from './required-tools.js';

/** The Debian packages `.ci/run` installs (its `packages=(…)` line). */
async function ciPackages(): Promise<string[]> {
  const script = await readFile(new URL('../../.ci/run', import.meta.url), 'utf8');
  const line = /^packages=\(([^)]*)\)$/m.exec(script);
  assert.ok(line, '.ci/run has a packages=(…) line');
  return line[1]!.trim().split(/\s+/);
}

describe('required tools', () => {
  it('CI installs the Debian package of every tool a test may require (a missing one fails its test under CI=true)', async () => {
    const installed = await ciPackages();
    const missing = Object.values(TOOLS).filter((tool) => !installed.includes(tool.debianPackage));
    assert.deepEqual(missing.map((tool) => `${tool.name} (${tool.debianPackage})`), []);
  });
});
