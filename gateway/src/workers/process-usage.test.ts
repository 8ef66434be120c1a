import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { createProcfsSource, parseProcStat, procfsAvailable, totalUsage, treeOf, type ProcessUsage } from './process-usage.js';

const units = { pageBytes: 4096, ticksPerSecond: 100 };
const row = (pid: number, ppid: number, rssBytes = 0, cpuMs = 0): [number, ProcessUsage] => [pid, { pid, ppid, rssBytes, cpuMs }];

describe('reading /proc/<pid>/stat', () => {
  it('counts fields from the last parenthesis, whatever the command name holds', () => {
    const stat = '4242 (evil) S 1 2 3 (x) R 77 4242 4242 0 -1 4194304 97 0 0 0 150 50 7 3 20 0 1 0 707920 3133440 256 18446744073709551615';
    assert.deepEqual(parseProcStat(stat, units), { pid: 4242, ppid: 77, rssBytes: 256 * 4096, cpuMs: 2100 });
  });

  it('refuses a line that is not a stat line', () => {
    assert.equal(parseProcStat('garbage', units), null);
    assert.equal(parseProcStat('12 (x) S 1', units), null);
  });
});

describe('process trees', () => {
  it('finds every descendant of a root and sums them', () => {
    const table = new Map([row(1, 0), row(10, 1, 100, 5), row(11, 10, 20, 1), row(12, 11, 3, 1), row(20, 1, 999, 999)]);
    assert.deepEqual(treeOf(10, table), [10, 11, 12]);
    assert.deepEqual(totalUsage(treeOf(10, table), table), { rssBytes: 123, cpuMs: 7, processes: 3 });
    assert.deepEqual(treeOf(99, table), [], 'a root that is gone has no tree');
  });

  it('survives a table with a cycle (pid reuse between reads)', () => {
    const table = new Map([row(5, 6), row(6, 5)]);
    assert.deepEqual(treeOf(5, table), [5, 6]);
  });
});

describe('the procfs source', { skip: !procfsAvailable() && process.env.CI !== 'true' ? 'no /proc here' : false }, () => {
  it('measures a real process tree: a child that forks one holding touched memory', async () => {
    const script = `
      const { spawn } = require('node:child_process');
      const holder = spawn(process.execPath, ['-e', 'globalThis.b = Buffer.alloc(96 * 1024 * 1024, 1); console.log("held"); setInterval(() => {}, 1000)'], { stdio: ['ignore', 'inherit', 'inherit'] });
      setInterval(() => {}, 1000);`;
    // Its own process group, so the test can end the whole tree.
    const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    try {
      await once(parent.stdout!, 'data');
      const source = createProcfsSource();
      const table = await source.scan();
      const tree = treeOf(parent.pid!, table);
      assert.equal(tree.length, 2, 'the parent and the child it forked');
      const usage = totalUsage(tree, table);
      assert.ok(usage.rssBytes > 96 * 1024 * 1024, `RSS ${usage.rssBytes}`);
      const reread = await source.read([...tree, 999_999_999]);
      assert.deepEqual([...reread.keys()].sort(), [...tree].sort(), 'a pid that is gone is left out');
    } finally {
      process.kill(-parent.pid!, 'SIGKILL');
    }
  });
});
