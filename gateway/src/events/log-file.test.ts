import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { openLogFile } from './log-file.js';

it('the log file rotates by size and keeps only logs.max_files old files, private to the user', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'aiplugs-logfile-'));
  try {
    const log = openLogFile({ dir, maxFileBytes: 4096, maxFiles: 2, onError: (error) => assert.fail(error) });
    for (let line = 0; line < 200; line += 1) log.write(`line ${String(line).padStart(3, '0')} ${'x'.repeat(90)}`);
    await log.close();
    assert.deepEqual((await readdir(dir)).sort(), ['gateway.log', 'gateway.log.1', 'gateway.log.2']);
    for (const name of ['gateway.log', 'gateway.log.1', 'gateway.log.2']) {
      const info = await stat(join(dir, name));
      assert.equal(info.mode & 0o777, 0o600, name);
      assert.ok(info.size <= 4096 + 100, `${name} is ${info.size} bytes`);
    }
    const newest = await readFile(join(dir, 'gateway.log'), 'utf8');
    assert.match(newest, /line 199 x+\n$/);
    const older = await readFile(join(dir, 'gateway.log.1'), 'utf8');
    const oldest = await readFile(join(dir, 'gateway.log.2'), 'utf8');
    // In order: .2 before .1 before the current file, with nothing lost in between.
    const first = (text: string) => Number(/^line (\d+)/.exec(text)?.[1]);
    const last = (text: string) => Number(/line (\d+) x+\n$/.exec(text)?.[1]);
    assert.equal(last(oldest) + 1, first(older));
    assert.equal(last(older) + 1, first(newest));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
