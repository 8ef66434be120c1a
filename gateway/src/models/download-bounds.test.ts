import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { randomContent, sha256Hex, testPlugin } from './testing/model-test-server.js';
import { fixture, leftovers, rejectsWith, type Fixture } from './testing/provisioner-fixture.js';

/** Size of the part file, or 0 when there is none. */
const partSize = async (f: Fixture, name = 'm.bin') => (await stat(join(f.modelsDir, `${name}.part`)).catch(() => undefined))?.size ?? 0;

/** Fails unless the part stays the size it is now: nothing is still writing to it. */
async function assertPartSettled(f: Fixture): Promise<number> {
  const before = await partSize(f);
  await sleep(200);
  assert.equal(await partSize(f), before, 'the .part is still growing after the error');
  return before;
}

/** A busy machine must not turn these into stall retries: each test counts requests. */
const patient = { stallTimeoutMs: 10_000 };

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('downloads stay within bounds', () => {
  it('stops an endless body at the declared size, names plugin and source, and leaves no part', async (t) => {
    const f = await fixture(t);
    const content = randomContent(1000);
    f.server.files.set('/m.bin', { content, endless: true });
    const plugin = testPlugin('p', f.pluginDir, [{ key: 'MODEL', filename: 'm.bin', source_url: f.server.url('/m.bin'), sha256: sha256Hex(content), size: 1000 }]);
    const error = await rejectsWith(f.provisioner(patient).ensure(plugin), 'too_large');
    assert.match(error.message, /\bfor p\b/);
    assert.match(error.message, new RegExp(escape(f.server.url('/m.bin'))));
    assert.match(error.message, /declares 1000 bytes/);
    assert.equal(await assertPartSettled(f), 0);
    assert.deepEqual(await leftovers(f.modelsDir), []);
    const requests = f.server.requestsFor('/m.bin');
    assert.equal(requests.length, 1, 'a source that sends too much is not asked again');
    await sleep(50);
    assert.ok(requests[0]?.cutOff, 'the connection is closed, not read to the end');
  });

  it('reports too_large even when an earlier attempt failed otherwise (a 503 first)', async (t) => {
    const f = await fixture(t);
    const content = randomContent(1000);
    f.server.files.set('/m.bin', { content, endless: true, script: [{ status: 503 }] });
    const plugin = testPlugin('p', f.pluginDir, [{ key: 'MODEL', filename: 'm.bin', source_url: f.server.url('/m.bin'), sha256: sha256Hex(content), size: 1000 }]);
    await rejectsWith(f.provisioner(patient).ensure(plugin), 'too_large');
    assert.equal(f.server.requestsFor('/m.bin').length, 2);
  });

  it('stops an endless body without a declared size at models.max_download_bytes', async (t) => {
    const f = await fixture(t);
    const content = randomContent(1000);
    f.server.files.set('/m.bin', { content, endless: true });
    const plugin = testPlugin('p', f.pluginDir, [{ key: 'MODEL', filename: 'm.bin', source_url: f.server.url('/m.bin'), sha256: sha256Hex(content) }]);
    const error = await rejectsWith(f.provisioner({ ...patient, maxDownloadBytes: 256 * 1024 }).ensure(plugin), 'too_large');
    assert.match(error.message, /models\.max_download_bytes/);
    assert.match(error.message, /\bfor p\b/);
    assert.equal(await assertPartSettled(f), 0);
    await sleep(50);
    assert.ok(f.server.requestsFor('/m.bin')[0]?.cutOff);
  });

  it('refuses an announced size beyond models.max_download_bytes before reading the body', async (t) => {
    const f = await fixture(t);
    const content = randomContent(512 * 1024);
    f.server.files.set('/m.bin', { content });
    const plugin = testPlugin('p', f.pluginDir, [{ key: 'MODEL', filename: 'm.bin', source_url: f.server.url('/m.bin'), sha256: sha256Hex(content) }]);
    const error = await rejectsWith(f.provisioner({ ...patient, maxDownloadBytes: 256 * 1024 }).ensure(plugin), 'too_large');
    assert.match(error.message, /524288 bytes/);
    assert.equal(await partSize(f), 0);
  });

  it('checks free space (a real statfs) before asking the source for anything', async (t) => {
    const f = await fixture(t);
    const content = randomContent(4 * 1024);
    f.server.files.set('/m.bin', { content });
    const plugin = testPlugin('p', f.pluginDir, [{ key: 'MODEL', filename: 'm.bin', source_url: f.server.url('/m.bin'), sha256: sha256Hex(content), size: content.length }]);
    // No disk has this much free, so the reserve alone cannot be met.
    const error = await rejectsWith(f.provisioner({ minFreeBytes: 2 ** 52 }).ensure(plugin), 'disk_full');
    assert.match(error.message, /Not enough free space for model m\.bin \(for p\)/);
    assert.match(error.message, /models\.min_free_bytes/);
    assert.match(error.message, new RegExp(escape(f.modelsDir)));
    assert.equal(f.server.requests.length, 0);
  });

  it('stops when free space runs out during a download of unknown size, keeping the part to resume', async (t) => {
    const f = await fixture(t);
    const content = randomContent(1000);
    f.server.files.set('/m.bin', { content, endless: true });
    const plugin = testPlugin('p', f.pluginDir, [{ key: 'MODEL', filename: 'm.bin', source_url: f.server.url('/m.bin'), sha256: sha256Hex(content) }]);
    // A 3 MiB disk that the part fills: its free space is what the real part file leaves.
    const disk = 3 * 1024 * 1024;
    const reserve = 1024 * 1024;
    const provisioner = f.provisioner({ ...patient, minFreeBytes: reserve, freeSpace: async () => disk - (await partSize(f)), spaceCheckBytes: 64 * 1024 });
    const error = await rejectsWith(provisioner.ensure(plugin), 'disk_full');
    assert.match(error.message, /\bfor p\b/);
    const kept = await assertPartSettled(f);
    assert.ok(kept > 0 && kept <= disk - reserve + 64 * 1024, `part of ${kept} bytes`);
    assert.equal(f.server.requestsFor('/m.bin').length, 1, 'a full disk is not retried');
    assert.ok(existsSync(join(f.modelsDir, 'm.bin.part')));
  });
});
