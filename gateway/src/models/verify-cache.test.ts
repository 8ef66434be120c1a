import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createVerifyCache } from './verify-cache.js';

describe('verify cache', () => {
  it('hits only for the exact size, mtime and inode it recorded', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'aiplugs-cache-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'm.bin');
    await writeFile(file, 'abc');
    const cache = createVerifyCache(join(dir, '.aiplugs'));
    assert.equal(await cache.lookup('m.bin', await stat(file)), undefined);
    await cache.record('m.bin', await stat(file), 'a'.repeat(64));
    assert.equal(await cache.lookup('m.bin', await stat(file)), 'a'.repeat(64));
    await utimes(file, new Date(), new Date(Date.now() - 60_000));
    assert.equal(await cache.lookup('m.bin', await stat(file)), undefined, 'a touched file is hashed again');
    await cache.record('m.bin', await stat(file), 'b'.repeat(64));
    await writeFile(join(dir, 'other'), 'abcd');
    assert.equal(await cache.lookup('m.bin', await stat(join(dir, 'other'))), undefined, 'another file (inode, size) never matches');
    await cache.forget('m.bin');
    assert.equal(await cache.lookup('m.bin', await stat(file)), undefined);
  });

  it('ignores a damaged cache entry', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'aiplugs-cache-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'm.bin'), 'abc');
    const cache = createVerifyCache(dir);
    await writeFile(join(dir, 'm.bin.verified.json'), '{"size": "nope"');
    assert.equal(await cache.lookup('m.bin', await stat(join(dir, 'm.bin'))), undefined);
  });
});
