/**
 * A backend's child that left the worker's process group (Python `start_new_session=True`, Node
 * `detached: true`) still goes with the worker: on stop (`POST /api/workers/:id/stop`), on a kill
 * (request timeout), when the worker dies by itself, and on gateway shutdown. Real Python and Node workers; every sleep a test
 * causes is killed after it, whatever the outcome.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { errorCode, fixturePlugin, processAlive, waitFor, workerManagers } from './test-support.js';

const noSignal = () => new AbortController().signal;
const manager = workerManagers();

const BACKENDS = {
  py: {
    entry: 'backend.py',
    source: `import os, subprocess, time

def run(payload):
    child = subprocess.Popen(["sleep", "3600"], start_new_session=True)
    if payload.get("then") == "die":
        print("child", child.pid, flush=True)
        os._exit(3)
    if payload.get("then") == "hang":
        print("child", child.pid, flush=True)
        while True:
            time.sleep(1)
    return {"worker": os.getpid(), "child": child.pid}
`,
  },
  node: {
    entry: 'backend.mjs',
    source: `import { spawn } from 'node:child_process';
export function run(payload) {
  // stdio inherited: the child also holds the worker's stdout/stderr pipes.
  const child = spawn('sleep', ['3600'], { detached: true, stdio: 'inherit' });
  child.unref();
  if (payload.then === 'die') {
    console.log('child', child.pid);
    setTimeout(() => process.exit(3), 100); // once the line is out
    return new Promise(() => {});
  }
  if (payload.then === 'hang') {
    console.log('child', child.pid);
    return new Promise(() => {});
  }
  return { worker: process.pid, child: child.pid };
}
`,
  },
} as const;

const pluginsDir = await mkdtemp(join(tmpdir(), 'aiplugs-escaped-'));
const children = new Set<number>();
after(async () => {
  for (const pid of children) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
  await rm(pluginsDir, { recursive: true, force: true });
});

for (const [runtime, backend] of Object.entries(BACKENDS)) {
  const id = `detach-${runtime}`;
  await mkdir(join(pluginsDir, id));
  await writeFile(join(pluginsDir, id, backend.entry), backend.source);
  await writeFile(
    join(pluginsDir, id, 'manifest.json'),
    JSON.stringify({ manifest_version: 3, id, name: id, version: '1.0.0', description: 'spawns a detached sleep', inference: { default_mode: 'local', local_entry: backend.entry } }),
  );

  describe(`${runtime} backend with a child in its own session`, () => {
    const detach = async (workers: ReturnType<typeof manager>['workers']) => {
      const answer = (await workers.infer(await fixturePlugin(id, pluginsDir), {}, noSignal())) as { worker: number; child: number };
      children.add(answer.child);
      assert.equal(processAlive(answer.child), true);
      return answer;
    };

    test('POST /api/workers/:id/stop (unload) takes the detached child down with the worker', async () => {
      const { workers } = manager();
      const { worker, child } = await detach(workers);
      await workers.unload(id);
      assert.equal(processAlive(worker), false);
      await waitFor(() => !processAlive(child), `detached child ${child} to be killed with its worker`, 5000);
    });

    test('gateway shutdown (workers.stop) takes it down too', async () => {
      const { workers } = manager();
      const { child } = await detach(workers);
      await workers.stop();
      await waitFor(() => !processAlive(child), `detached child ${child} to be killed at shutdown`, 5000);
    });

    test('a worker that dies by itself takes it down too', async () => {
      // No stop came first to find the child by its parent link: by the exit it was re-parented.
      const { workers, lines } = manager();
      // Awaited from the start: the worker may die, and the call fail, before its line is read.
      const dying = assert.rejects(workers.infer(await fixturePlugin(id, pluginsDir), { then: 'die' }, noSignal()));
      const printed = await waitFor(() => lines.map((line) => new RegExp(`\\[${id}\\] child (\\d+)`).exec(line)?.[1]).find(Boolean), 'the child pid in the log');
      const child = Number(printed);
      children.add(child);
      await dying;
      await waitFor(() => !processAlive(child), `detached child ${child} to be killed with the worker that died`, 5000);
    });

    test('a worker killed for a timeout takes it down too', async () => {
      const { workers, lines } = manager({ requestTimeoutMs: 1500, startupTimeoutMs: 15_000 });
      const plugin = await fixturePlugin(id, pluginsDir);
      const hung = errorCode(workers.infer(plugin, { then: 'hang' }, noSignal()));
      const printed = await waitFor(() => lines.map((line) => new RegExp(`\\[${id}\\] child (\\d+)`).exec(line)?.[1]).find(Boolean), 'the child pid in the log');
      const child = Number(printed);
      children.add(child);
      assert.equal(await hung, 'worker_timeout');
      await waitFor(() => !processAlive(child), `detached child ${child} to be killed with the timed-out worker`, 5000);
    });
  });
}
