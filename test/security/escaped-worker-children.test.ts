/**
 * A backend cannot keep the gateway alive, or leave processes behind, by starting children that
 * leave its worker's process group. The real CLI (`aiplugs start`) with a Python plugin whose
 * backend starts `sleep 3600` in a new session (it inherits the worker's stdout/stderr pipes):
 *  - SIGTERM: the gateway exits 0 within a bound, and the detached child is gone with it;
 *  - a child re-parented away from the worker before the stop (a double fork) is found by the tag
 *    in its environment and goes too; one that also cleared its environment is beyond finding,
 *    and still cannot hold the gateway open through the pipes it inherited;
 *  - `POST /api/workers/:id/stop` takes the detached child down.
 * Every sleep a test causes is killed after it, whatever the outcome.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startGatewayProcess, type GatewayChild } from '../../e2e/support/gateway-process.js';

const BACKEND = `import os, subprocess

def run(payload):
    if payload.get("op") in ("escape", "escape-clean"):
        # sh starts sleep in the background and exits: sleep is re-parented away from the worker
        # at once, its stderr still the worker's stderr pipe ("clean": with an empty environment).
        line = "env -i sleep 3600 & echo $!" if payload["op"] == "escape-clean" else "sleep 3600 & echo $!"
        sh = subprocess.Popen(["sh", "-c", line], stdout=subprocess.PIPE, start_new_session=True)
        child = int(sh.stdout.readline())
        sh.stdout.close()
        sh.wait()
        return {"worker": os.getpid(), "child": child}
    child = subprocess.Popen(["sleep", "3600"], start_new_session=True)
    return {"worker": os.getpid(), "child": child.pid}
`;

/** Alive and not a zombie (a killed orphan waits for init to reap it). */
async function running(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'latin1');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

async function until(check: () => Promise<boolean>, what: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('children a backend starts outside its process group', { skip: process.platform !== 'linux' && 'needs Linux /proc' }, () => {
  const cleanup: Array<() => Promise<unknown> | void> = [];
  const sleeps = new Set<number>();
  after(async () => {
    for (const pid of sleeps) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const step of cleanup.reverse()) await step();
  });

  async function gatewayWithPlugin(): Promise<{ gateway: GatewayChild; infer: (payload: unknown) => Promise<{ worker: number; child: number }>; api: (path: string) => Promise<Response> }> {
    const root = await mkdtemp(join(tmpdir(), 'aiplugs-escaped-gw-'));
    cleanup.push(() => rm(root, { recursive: true, force: true }));
    const pluginDir = join(root, 'plugins', 'detach');
    await mkdir(pluginDir, { recursive: true });
    await writeFile(join(pluginDir, 'backend.py'), BACKEND);
    await writeFile(
      join(pluginDir, 'manifest.json'),
      JSON.stringify({ manifest_version: 3, id: 'detach', name: 'detach', version: '1.0.0', description: 'starts a detached sleep', inference: { default_mode: 'local', local_entry: 'backend.py' } }),
    );
    const gateway = await startGatewayProcess({ dataDir: join(root, 'data'), args: ['--plugins-dir', join(root, 'plugins'), '--models-dir', join(root, 'models')] });
    cleanup.push(() => {
      if (gateway.child.exitCode === null && gateway.child.signalCode === null) gateway.child.kill('SIGKILL');
    });
    const token = await gateway.token();
    const api = (path: string, body?: unknown) =>
      fetch(`${gateway.ready.apiUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
    const infer = async (payload: unknown) => {
      const response = await api('/api/plugins/detach/infer', { payload });
      const body = (await response.json()) as { result: { worker: number; child: number } };
      assert.equal(response.status, 200, JSON.stringify(body));
      sleeps.add(body.result.child);
      assert.equal(await running(body.result.child), true);
      return body.result;
    };
    return { gateway, infer, api };
  }

  /** SIGTERM, then the gateway's exit (code or signal), or a failure naming what hung. */
  async function terminate(gateway: GatewayChild, boundMs: number): Promise<number | null> {
    const exited = new Promise<number | null>((resolve) => gateway.child.once('exit', (code) => resolve(code)));
    gateway.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the gateway did not exit within ${boundMs} ms of SIGTERM:\n${gateway.log().slice(-2000)}`)), boundMs);
    });
    try {
      return await Promise.race([exited, hung]);
    } finally {
      clearTimeout(timer);
    }
  }

  it('SIGTERM: the gateway exits 0 within 10 s and the detached child is gone with its worker', async () => {
    const { gateway, infer } = await gatewayWithPlugin();
    const { worker, child } = await infer({ op: 'detach' });
    assert.equal(await terminate(gateway, 10_000), 0);
    assert.match(gateway.log(), /Stopped/);
    assert.equal(await running(worker), false);
    await until(async () => !(await running(child)), `detached child ${child} to be killed`, 5000);
  });

  it('SIGTERM: a child re-parented away before the stop is found by its tag and goes too', async () => {
    const { gateway, infer } = await gatewayWithPlugin();
    const { child } = await infer({ op: 'escape' });
    assert.equal(await terminate(gateway, 10_000), 0);
    await until(async () => !(await running(child)), `re-parented child ${child} to be killed`, 5000);
  });

  it('SIGTERM: one that also cleared its environment cannot hold the gateway open through the pipes it inherited', async () => {
    const { gateway, infer } = await gatewayWithPlugin();
    const { child } = await infer({ op: 'escape-clean' });
    assert.equal(await terminate(gateway, 10_000), 0);
    // Out of reach by design (no descendant any more, no tag): it lives on, and is killed in after().
    assert.equal(await running(child), true);
  });

  it('POST /api/workers/:id/stop takes the detached child down with the worker', async () => {
    const { gateway, infer, api } = await gatewayWithPlugin();
    const { worker, child } = await infer({ op: 'detach' });
    assert.equal((await api('/api/workers/detach/stop')).status, 200);
    assert.equal(await running(worker), false);
    await until(async () => !(await running(child)), `detached child ${child} to be killed`, 5000);
    assert.equal(await terminate(gateway, 10_000), 0);
  });
});
