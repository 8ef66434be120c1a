/**
 * Security checklist 8, continued — misbehaving plugins and model servers. A worker that floods
 * stdout, one that allocates without bound, and a model server that stalls each fail their own
 * callers with a clear error, while the gateway keeps answering /api/health within a second.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, cp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, startGatewayProcess, type GatewayChild } from '../../e2e/support/gateway-process.js';

let gateway: GatewayChild;
let token: string;
let stallServer: Server;

async function rssMb(pid: number): Promise<number> {
  return Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

function infer(plugin: string, payload: unknown, signal?: AbortSignal) {
  return fetch(`${gateway.ready.apiUrl}/api/plugins/${plugin}/infer`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ payload }),
    signal,
  });
}

/** Polls /api/health while `work` runs; every answer must come within a second. */
async function healthyDuring<T>(work: Promise<T>): Promise<T> {
  let done = false;
  const watching = (async () => {
    while (!done) {
      const response = await fetch(`${gateway.ready.apiUrl}/api/health`, { signal: AbortSignal.timeout(1000) });
      assert.equal(response.status, 200);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  try {
    return await work;
  } finally {
    done = true;
    await watching;
  }
}

before(async () => {
  // A model server that sends headers and a few bytes, then nothing.
  stallServer = createServer((_request, response) => {
    response.writeHead(200, { 'content-length': '1000000' });
    response.write('partial');
  });
  await new Promise<void>((resolve) => stallServer.listen(0, '127.0.0.1', resolve));
  const plugins = await mkdtemp(join(tmpdir(), 'aiplugs-fault-plugins-'));
  await cp(join(REPO_ROOT, 'test/security/fixtures/plugins'), plugins, { recursive: true });
  const manifestPath = join(plugins, 'stalled-model/manifest.json');
  const manifest = (await readFile(manifestPath, 'utf8')).replace('127.0.0.1:9', `127.0.0.1:${(stallServer.address() as AddressInfo).port}`);
  await writeFile(manifestPath, manifest);
  const models = await mkdtemp(join(tmpdir(), 'aiplugs-fault-models-'));
  await mkdir(models, { recursive: true });
  gateway = await startGatewayProcess({
    args: ['--plugins-dir', plugins, '--models-dir', models],
    env: { AIPLUGS_WORKERS_MAX_MEMORY_MB: '256', AIPLUGS_WORKERS_REQUEST_TIMEOUT_SECONDS: '60' },
  });
  token = await gateway.token();
});
after(async () => {
  await gateway?.stop();
  stallServer?.closeAllConnections();
  stallServer?.close();
});

describe('misbehaving plugins', () => {
  it('a worker that floods stdout: its output goes to the log, its answer still arrives', async () => {
    const response = await healthyDuring(infer('flood', {}));
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { result: { flooded: true } });
  });

  for (const plugin of ['hog-node', 'hog-python']) {
    it(`${plugin}: allocating without bound fails that call with a clear error, and the plugin recovers`, async () => {
      const baseline = await rssMb(gateway.pid);
      const response = await healthyDuring(infer(plugin, {}));
      assert.ok(response.status >= 500, `status ${response.status}`);
      const body = (await response.json()) as { error: { code: string; message: string } };
      assert.match(`${body.error.code} ${body.error.message}`, /memory|MemoryError|crash|exited|heap/i);
      const again = await infer(plugin, { ok: true });
      assert.equal(again.status, 200, JSON.stringify(await again.clone().json()));
      assert.ok((await rssMb(gateway.pid)) < baseline + 150, 'the gateway itself did not grow');
    });
  }

  for (const plugin of ['hog-buffer', 'hog-bytes', 'hog-native']) {
    it(`${plugin}: memory outside any heap (RSS) is capped by workers.max_memory_mb: the worker is killed, the caller and the log say why`, async () => {
      const response = await healthyDuring(infer(plugin, { mb: 512, holdMs: 15_000 }));
      const body = (await response.json()) as { error?: { code: string; message: string } };
      assert.equal(response.status, 502, JSON.stringify(body));
      assert.equal(body.error?.code, 'worker_memory_exceeded');
      assert.match(body.error?.message ?? '', /256 MB/);
      assert.match(gateway.log(), new RegExp(`Plugin "${plugin}" worker \\d+ uses \\d+ MB of memory, over its 256 MB cap`));
      const status = (await (await fetch(`${gateway.ready.apiUrl}/api/workers/${plugin}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { recentCrashes: number };
      assert.equal(status.recentCrashes, 1, 'it counts as a crash for the restart backoff');
      assert.equal((await infer(plugin, { ok: true })).status, 200, 'the plugin recovers');
    });
  }

  it('a model server that stalls keeps the gateway responsive; the caller can give up', async () => {
    const controller = new AbortController();
    const pending = infer('stalled-model', {}, controller.signal).catch((error: Error) => error);
    await healthyDuring(new Promise((resolve) => setTimeout(resolve, 1500)));
    controller.abort();
    assert.ok((await pending) instanceof Error);
    assert.equal((await fetch(`${gateway.ready.apiUrl}/api/health`, { signal: AbortSignal.timeout(1000) })).status, 200);
  });
});
