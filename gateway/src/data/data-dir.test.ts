import assert from 'node:assert/strict';
import { chmod, chown, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../config/load-config.js';
import { prepareDataDir } from './data-dir.js';

describe('prepareDataDir for the gateway (ownOnly)', { skip: process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root to chown a folder to another account' : false }, () => {
  let root = '';
  after(() => rm(root, { recursive: true, force: true }));
  const scratch = async () => (root ||= await mkdtemp(join(tmpdir(), 'aiplugs-data-dir-')));

  it("refuses another account's data dir and leaves it as it was", async () => {
    const dataDir = join(await scratch(), 'theirs');
    await mkdir(dataDir);
    await chmod(dataDir, 0o777);
    await writeFile(join(dataDir, 'token'), 'planted');
    await chown(dataDir, 12345, 12345);
    await assert.rejects(prepareDataDir(dataDir, { ownOnly: true }), (error: Error) => error instanceof ConfigError && error.message.startsWith(`data dir ${dataDir} is owned by another account (uid 12345)`));
    assert.equal((await stat(dataDir)).mode & 0o777, 0o777);
    await assert.rejects(stat(join(dataDir, 'logs')), { code: 'ENOENT' });
  });

  it('makes a new one private, and takes it', async () => {
    const dataDir = join(await scratch(), 'new', 'data');
    await prepareDataDir(dataDir, { ownOnly: true });
    assert.equal((await stat(dataDir)).mode & 0o777, 0o700);
    assert.ok((await stat(join(dataDir, 'logs'))).isDirectory());
  });
});
