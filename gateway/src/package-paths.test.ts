import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { codePath, repoPath } from './package-paths.js';

/** Gateway modules that run in the gateway process (not tests, test support or browser code). */
async function gatewayModules(dir = codePath('')): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return ['page', 'fixtures', 'testing', 'hosts', 'templates'].includes(entry.name) ? [] : gatewayModules(path);
      return /\.ts$/.test(entry.name) && !/\.(test|d)\.ts$/.test(entry.name) && entry.name !== 'test-support.ts' ? [path] : [];
    }),
  );
  return nested.flat();
}

describe('paths to files shipped with the gateway', () => {
  it('resolve from package-paths.ts, so the one-file bundle at the top of gateway/dist finds them', async () => {
    const offenders: string[] = [];
    for (const file of await gatewayModules()) {
      if (file === codePath('package-paths.ts')) continue;
      const text = await readFile(file, 'utf8');
      if (/new URL\([^)]*import\.meta\.url\)/.test(text)) offenders.push(relative(codePath(''), file));
    }
    assert.deepEqual(offenders, [], 'use codePath()/repoPath() from package-paths.ts instead of a path relative to the module');
  });

  it('point at the files', () => {
    for (const path of [codePath('workers/hosts/node-host.mjs'), codePath('workers/hosts/python-host.py'), codePath('authoring/templates/'), codePath('dashboard/page/index.html'), codePath('webai/backends/'), repoPath('config/config.json'), repoPath('plugins/echo/manifest.json')]) {
      assert.ok(existsSync(path), `${path} is missing`);
    }
  });
});
