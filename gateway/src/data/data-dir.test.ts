import assert from 'node:assert/strict';
import { chmod, chown, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../config/load-config.js';
import { ensureApiToken, prepareDataDir } from './data-dir.js';

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

describe('the data dir and token from outside (helper-77)', () => {
  it('a file where the data dir should be is a clear configuration error, not a raw EEXIST', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'aiplugs-datadir-file-')), 'not-a-folder');
    await writeFile(file, 'x');
    await assert.rejects(prepareDataDir(file), (error: Error) => error instanceof ConfigError && error.message === `data dir ${file} is not a folder (a file is in the way); give --data-dir a folder`);
    await assert.rejects(prepareDataDir(join(file, 'below')), ConfigError);
  });

  it('a token file that holds no token is replaced, and the replacement is told', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-token-'));
    await writeFile(join(dataDir, 'token'), 'seeded\n');
    const told: string[] = [];
    const token = await ensureApiToken(dataDir, (reason) => told.push(reason));
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(told.length, 1);
    assert.match(told[0] ?? '', /did not hold a token/);
    assert.equal(await ensureApiToken(dataDir, (reason) => told.push(reason)), token);
    assert.equal(told.length, 1);
  });
});
