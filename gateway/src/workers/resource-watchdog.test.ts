import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { procfsAvailable, type TreeUsage } from './process-usage.js';
import { createResourceWatchdog } from './resource-watchdog.js';
import { waitFor } from './test-support.js';

const MIB = 1024 * 1024;

describe('the resource watchdog', { skip: !procfsAvailable() && process.env.CI !== 'true' ? 'no /proc here' : false }, () => {
  it('follows a process tree as it grows: memory a forked child touches counts, CPU accumulates', async () => {
    // The child forks a holder of 80 MB only when told to (a line on stdin), after watching began.
    const script = `
      process.stdin.once('data', () => {
        require('node:child_process').spawn(process.execPath, ['-e', 'globalThis.b = Buffer.alloc(80 * 1024 * 1024, 1); setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      });
      while (process.cpuUsage().user + process.cpuUsage().system < 300_000);
      console.log('spun');
      setInterval(() => {}, 1000);`;
    const root = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
    after(() => process.kill(-root.pid!, 'SIGKILL'));
    await once(root.stdout!, 'data');
    const samples: TreeUsage[] = [];
    const watchdog = createResourceWatchdog({ intervalMs: 50, rescanMs: 200 });
    assert.equal(watchdog.available, true);
    const stop = watchdog.watch(root.pid!, (usage) => samples.push(usage));
    await waitFor(() => samples.length > 0, 'a first sample');
    assert.equal(samples[0]!.processes, 1);
    assert.ok(samples[0]!.cpuMs >= 250, `the busy start shows as CPU time: ${samples[0]!.cpuMs} ms`);
    root.stdin!.write('fork\n');
    const grown = await waitFor(() => samples.find((usage) => usage.processes === 2 && usage.rssBytes > 80 * MIB), 'the forked holder to be counted');
    assert.ok(grown.rssBytes > 80 * MIB);
    stop();
    const count = samples.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(samples.length, count, 'no samples after stop()');
  });

  it('without a source it is unavailable and watching is a no-op', () => {
    const watchdog = createResourceWatchdog({ source: null });
    assert.equal(watchdog.available, false);
    watchdog.watch(process.pid, () => assert.fail('no samples without a source'))();
  });
});
