import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fixture, rejectsWith, serve } from './testing/provisioner-fixture.js';
import { randomContent } from './testing/model-test-server.js';

describe('low-speed limit', () => {
  it('fails a source that drips below the limit for a whole window, naming the rate and origin, keeping the part', async (t) => {
    // Before: 100 bytes every 40 ms (2.5 KB/s) never tripped the 300 ms stall timeout, so ensure() waited for minutes.
    const f = await fixture(t);
    const plugin = serve(f, '/drip.bin', randomContent(512 * 1024), { throttle: { chunkBytes: 100, delayMs: 40 } });
    const provisioner = f.provisioner({ lowSpeedBytesPerSecond: 10_000, lowSpeedWindowMs: 500 });
    const started = Date.now();
    const error = await Promise.race([
      rejectsWith(provisioner.ensure(plugin), 'network'),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('ensure() still waiting after 5 s: no low-speed limit')), 5_000).unref()),
    ]);
    t.after(() => provisioner.close());
    assert.ok(Date.now() - started < 5_000);
    assert.match(error.message, /below the minimum of 10000 B\/s/);
    assert.match(error.message, new RegExp(f.server.origin.replace(/[.]/g, '\\.')));
    assert.ok((await stat(join(f.modelsDir, 'drip.bin.part'))).size > 0, 'the part is kept for a later resume');
  });

  it('lets a slow but steady source through when it stays above the limit', async (t) => {
    const f = await fixture(t);
    const plugin = serve(f, '/steady.bin', randomContent(64 * 1024), { throttle: { chunkBytes: 8 * 1024, delayMs: 40 } });
    await f.provisioner({ lowSpeedBytesPerSecond: 10_000, lowSpeedWindowMs: 300 }).ensure(plugin);
  });
});
