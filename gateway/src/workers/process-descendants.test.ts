import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { descendantsOf, parseStatLink, processTreeKiller, readProcessLinks, TREE_TAG_VARIABLE } from './process-descendants.js';
import { processAlive, waitFor } from './test-support.js';

describe('descendantsOf', () => {
  test('finds children and grandchildren, parents first, and nothing outside the tree', () => {
    const links = [
      { pid: 12, ppid: 11 },
      { pid: 11, ppid: 10 },
      { pid: 13, ppid: 10 },
      { pid: 20, ppid: 1 },
      { pid: 21, ppid: 20 },
      { pid: 10, ppid: 1 },
    ];
    assert.deepEqual(descendantsOf(10, links), [11, 13, 12]);
    assert.deepEqual(descendantsOf(20, links), [21]);
    assert.deepEqual(descendantsOf(12, links), []);
    assert.deepEqual(descendantsOf(99, links), [], 'an unknown root has none');
  });

  test('survives cycles and self-parented entries (pid 0/1 in some tables)', () => {
    assert.deepEqual(descendantsOf(1, [{ pid: 1, ppid: 1 }, { pid: 2, ppid: 1 }, { pid: 3, ppid: 2 }, { pid: 2, ppid: 3 }]), [2, 3]);
  });

  test('is linear: a 100 000-deep chain is walked at once', () => {
    const links = Array.from({ length: 100_000 }, (_, i) => ({ pid: i + 2, ppid: i + 1 }));
    assert.equal(descendantsOf(1, links).length, 100_000);
  });
});

test('parseStatLink reads ppid, group and start time past a command name with spaces and parentheses', () => {
  const stat = '4242 (we) ird (name) S 77 4242 4242 0 -1 4194560 100 0 0 0 12 9 0 0 20 0 1 0 987654 1000 256 rest';
  assert.deepEqual(parseStatLink(stat), { pid: 4242, ppid: 77, pgid: 4242, startTime: 987654 });
  assert.equal(parseStatLink('garbage'), null);
});

describe('processTreeKiller', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  const spawned: number[] = [];
  after(() => {
    for (const pid of spawned) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });

  test('kills a child that left the group, also after the root has exited and it was re-parented', async () => {
    // A group leader (sh) that starts a sleep in a session of its own and prints its pid.
    const root = spawn('sh', ['-c', 'setsid sleep 3600 & echo $!; exec sleep 3600'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    spawned.push(root.pid!);
    const escapedPid = await new Promise<number>((resolve) => root.stdout!.once('data', (data: Buffer) => resolve(Number(String(data).trim()))));
    spawned.push(escapedPid);
    // The shell prints the pid as it forks: `setsid` leaves the group a moment later.
    await waitFor(() => readProcessLinks().find((link) => link.pid === escapedPid && link.ppid === root.pid && link.pgid !== root.pid), 'setsid sleep to be a child of the root, out of its group');

    const tree = processTreeKiller(root.pid!);
    // SIGSTOP reaches both without ending either: both were found.
    tree.signal('SIGSTOP', true);
    await waitFor(() => ['T', 't'].includes(stateOf(escapedPid)), 'the escaped child to stop');
    tree.signal('SIGCONT', false);
    // The root goes first (as a worker does); the escaped child, now re-parented, is still reached.
    process.kill(root.pid!, 'SIGKILL');
    await new Promise((resolve) => root.once('exit', resolve));
    await waitFor(() => readProcessLinks().find((link) => link.pid === escapedPid && link.ppid !== root.pid), 're-parenting');
    tree.signal('SIGKILL', false);
    await waitFor(() => !processAlive(escapedPid), 'the escaped child to die');
  });

  test('leaves a process alone that took a remembered pid over (its start time differs)', async () => {
    // A fake /proc in which a real, harmless sleep (in its own group) is a child of the root.
    const root = spawn('sleep', ['3600'], { detached: true, stdio: 'ignore' });
    const other = spawn('sleep', ['3600'], { detached: true, stdio: 'ignore' });
    spawned.push(root.pid!, other.pid!);
    const procDir = await mkdtemp(join(tmpdir(), 'aiplugs-fake-proc-'));
    after(() => rm(procDir, { recursive: true, force: true }));
    const stat = (pid: number, ppid: number, startTime: number) => `${pid} (sleep) S ${ppid} ${pid} ${pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 ${startTime} 1000 256\n`;
    await mkdir(join(procDir, String(other.pid)));
    await writeFile(join(procDir, String(other.pid), 'stat'), stat(other.pid!, root.pid!, 500));
    const tree = processTreeKiller(root.pid!, { procDir });
    tree.signal('SIGCONT', true);
    // The remembered child "exits" and its pid now belongs to a process that started later.
    await writeFile(join(procDir, String(other.pid), 'stat'), stat(other.pid!, 1, 900));
    tree.signal('SIGKILL', false);
    await new Promise((resolve) => root.once('exit', resolve));
    assert.equal(processAlive(other.pid!), true, 'not the process it remembered: left alone');
  });

  test('after the root died, kills what carries its tag and started after it: not another tag, no tag, an older process, nor the root', async () => {
    // A fake /proc over real, harmless sleeps (each in its own group), so what gets signalled shows.
    const root = spawn('sleep', ['3600'], { detached: true, stdio: 'ignore' });
    const [tagged, otherTag, untagged, older] = ['tagged', 'other', 'none', 'older'].map(() => spawn('sleep', ['3600'], { detached: true, stdio: 'ignore' }));
    spawned.push(root.pid!, tagged!.pid!, otherTag!.pid!, untagged!.pid!, older!.pid!);
    const procDir = await mkdtemp(join(tmpdir(), 'aiplugs-fake-proc-'));
    after(() => rm(procDir, { recursive: true, force: true }));
    const stat = (pid: number, startTime: number) => `${pid} (sleep) S 1 ${pid} ${pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 ${startTime} 1000 256\n`;
    const fake = async (pid: number, startTime: number, environ: string) => {
      await mkdir(join(procDir, String(pid)));
      await writeFile(join(procDir, String(pid), 'stat'), stat(pid, startTime));
      await writeFile(join(procDir, String(pid), 'environ'), environ);
    };
    const tag = 'tag-1';
    await fake(root.pid!, 100, `${TREE_TAG_VARIABLE}=${tag}\0`);
    await fake(tagged!.pid!, 200, `PATH=/bin\0${TREE_TAG_VARIABLE}=${tag}\0HOME=/h\0`);
    await fake(otherTag!.pid!, 200, `${TREE_TAG_VARIABLE}=${tag}2\0`);
    await fake(untagged!.pid!, 200, 'PATH=/bin\0');
    await fake(older!.pid!, 50, `${TREE_TAG_VARIABLE}=${tag}\0`);
    const tree = processTreeKiller(root.pid!, { procDir, tag });
    tree.signal('SIGKILL', false);
    await waitFor(() => !processAlive(tagged!.pid!), 'the tagged process to die');
    for (const survivor of [otherTag, untagged, older]) assert.equal(processAlive(survivor!.pid!), true);
  });
});

function stateOf(pid: number): string {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return text[text.lastIndexOf(')') + 2] ?? '';
  } catch {
    return '';
  }
}
