import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { acquireFileLock, isFileLocked, lockPathFor } from './file-lock.js';

const noop = () => undefined;

describe('file lock', () => {
  it('waits while the lock is held, then gets it once released', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'aiplugs-lock-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const target = join(dir, 'm.bin');
    const release = await acquireFileLock(target, { staleMs: 10_000, pollMs: 10, onCompromised: noop });
    assert.equal(await isFileLocked(target, 10_000), true);
    let waits = 0;
    const second = acquireFileLock(target, {
      staleMs: 10_000,
      pollMs: 10,
      onCompromised: noop,
      onWait: async () => {
        waits += 1;
        if (waits === 3) await release();
      },
    });
    const releaseSecond = await second;
    assert.ok(waits >= 3);
    await releaseSecond();
    await releaseSecond();
    assert.equal(await isFileLocked(target, 10_000), false);
  });

  it('takes over a lock left by a crashed holder once it is stale', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'aiplugs-lock-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const target = join(dir, 'm.bin');
    // What a SIGKILLed holder leaves behind: the lock folder, no longer refreshed.
    await mkdir(lockPathFor(target));
    const past = new Date(Date.now() - 60_000);
    await utimes(lockPathFor(target), past, past);
    assert.equal(await isFileLocked(target, 10_000), false);
    const release = await acquireFileLock(target, { staleMs: 10_000, pollMs: 10, onCompromised: noop });
    assert.equal(await isFileLocked(target, 10_000), true);
    await release();
  });

  it('stops waiting when its signal aborts', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'aiplugs-lock-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const target = join(dir, 'm.bin');
    const release = await acquireFileLock(target, { staleMs: 10_000, pollMs: 10, onCompromised: noop });
    const controller = new AbortController();
    const waiting = acquireFileLock(target, { staleMs: 10_000, pollMs: 10, signal: controller.signal, onCompromised: noop, onWait: () => controller.abort() });
    await assert.rejects(waiting, { name: 'AbortError' });
    await release();
  });
});
