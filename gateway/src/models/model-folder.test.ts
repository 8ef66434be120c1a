import assert from 'node:assert/strict';
import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../config/load-config.js';
import { assertTrustedModelsFolder } from './model-folder.js';

describe('a models folder the gateway trusts', { skip: process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root to chown a folder to another account' : false }, () => {
  let root = '';
  after(() => rm(root, { recursive: true, force: true }));
  const folder = async (name: string, mode: number, uid?: number) => {
    root ||= await mkdtemp(join(tmpdir(), 'aiplugs-models-trust-'));
    const dir = join(root, name);
    await mkdir(dir);
    await chmod(dir, mode);
    if (uid !== undefined) await chown(dir, uid, uid);
    return dir;
  };

  it("refuses another account's folder, naming it (it could swap a model and forge its record)", async () => {
    const dir = await folder('theirs', 0o755, 12345);
    await assert.rejects(assertTrustedModelsFolder(dir), (error: Error) => error instanceof ConfigError && error.message.startsWith(`models_dir ${dir} is owned by another account (uid 12345)`));
  });

  it('refuses a folder every account can write', async () => {
    await assert.rejects(assertTrustedModelsFolder(await folder('open', 0o777)), /writable by other accounts \(mode 0777\)/);
  });

  it("takes the user's folder, group-writable too, and one not made yet", async () => {
    await assertTrustedModelsFolder(await folder('mine', 0o775));
    await assertTrustedModelsFolder(join(root, 'not-yet'));
  });

  it('refuses one not made yet where another account could swap it once made', async () => {
    const open = await folder('shared', 0o777);
    await assert.rejects(assertTrustedModelsFolder(join(open, 'models', 'cache')), new RegExp(`inside ${open}, which is writable by other accounts \\(mode 0777\\)`));
  });
});
