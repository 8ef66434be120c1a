import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { describe, it } from 'node:test';
import { codePath, repoPath } from './package-paths.js';

/** Gateway modules that run in the gateway process (not tests, test support or browser code). */
async function gatewayModules(): Promise<string[]> {
  const files = await readdir(codePath(''), { recursive: true });
  return files
    .filter((file) => /\.ts$/.test(file) && !/\.(test|d)\.ts$/.test(file) && !file.endsWith('test-support.ts'))
    .filter((file) => !file.split(sep).some((folder) => ['page', 'fixtures', 'testing', 'hosts', 'templates'].includes(folder)))
    .map((file) => join(codePath(''), file));
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
