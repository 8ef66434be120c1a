import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MOCKTTP_PATCH, unpatchedMockttpDir } from '../../../test/support/unpatched-mockttp.js';
import { assertMockttpPatched, importedMockttpDir, missingMockttpPatchHunks, MOCKTTP_PATCH_HUNKS, MockttpPatchError } from './mockttp-patch-check.js';

const ROOT_PACKAGE = fileURLToPath(new URL('../../../package.json', import.meta.url));

describe('the mockttp patch check', () => {
  it('knows exactly the changes the patch file marks', async () => {
    const patch = await readFile(MOCKTTP_PATCH, 'utf8');
    const marked = new Set([...patch.matchAll(/^\+.*AiPlugs patch \(([a-z0-9-]+)/gm)].map((match) => match[1]));
    assert.deepEqual([...marked].sort(), MOCKTTP_PATCH_HUNKS.map((hunk) => hunk.id).sort());
  });

  it('passes the installed mockttp and names every change an unpatched copy lacks', async () => {
    await assertMockttpPatched({ rootPackageJson: ROOT_PACKAGE });
    assert.deepEqual(await missingMockttpPatchHunks(importedMockttpDir()), []);
    assert.deepEqual(await missingMockttpPatchHunks(unpatchedMockttpDir()), MOCKTTP_PATCH_HUNKS.map((hunk) => hunk.id));
    await assert.rejects(assertMockttpPatched({ rootPackageJson: ROOT_PACKAGE, mockttpDir: unpatchedMockttpDir() }), (error: Error) => {
      assert.ok(error instanceof MockttpPatchError);
      assert.match(error.message, /lacks our patch patches\/mockttp\+[\d.]+\.patch: missing listen-host \(listen on 127\.0\.0\.1 only\), error-responder/);
      assert.match(error.message, /Run `npm install`/);
      return true;
    });
  });

  it('refuses a mockttp of another version than the pinned one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aiplugs-mockttp-'));
    try {
      // The version is checked first: a package.json is all this copy needs.
      await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'mockttp', version: '9.9.9' }));
      await assert.rejects(assertMockttpPatched({ rootPackageJson: ROOT_PACKAGE, mockttpDir: dir }), /mockttp 9\.9\.9 is installed but AiPlugs is pinned to and patched for 4\.6\.5/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
