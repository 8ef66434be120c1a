import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it, type TestContext } from 'node:test';
import { Hono } from 'hono';
import { toErrorResponse } from '../api/api-error.js';
import type { ApiEnv } from '../api/api-env.js';
import { createPluginRegistry } from '../plugins/plugin-registry.js';
import { createModelProvisioner } from './model-provisioner.js';
import { modelStatusRoutes } from './model-status-route.js';
import { randomContent, sha256Hex, startModelServer } from './testing/model-test-server.js';

async function setup(t: TestContext) {
  const root = await mkdtemp(join(tmpdir(), 'aiplugs-model-status-'));
  const server = await startModelServer();
  t.after(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });
  const small = randomContent(16 * 1024);
  const large = randomContent(256 * 1024);
  server.files.set('/small.bin', { content: small });
  server.files.set('/large.bin', { content: large, throttle: { chunkBytes: 16 * 1024, delayMs: 25 } });
  const pluginsDir = join(root, 'plugins');
  const write = async (id: string, models: unknown[]) => {
    await mkdir(join(pluginsDir, id), { recursive: true });
    await writeFile(join(pluginsDir, id, 'manifest.json'), JSON.stringify({ manifest_version: 3, id, name: id, version: '1.0.0', inference: { default_mode: 'local', models } }));
  };
  const declared = [
    { key: 'SMALL', filename: 'small.bin', source_url: server.url('/small.bin'), sha256: sha256Hex(small), size: small.length },
    { key: 'LARGE', filename: 'large.bin', source_url: server.url('/large.bin'), sha256: sha256Hex(large), size: large.length },
  ];
  await write('good', declared);
  await write('gone', [{ key: 'GONE', filename: 'gone.bin', source_url: server.url('/gone.bin'), sha256: sha256Hex(small) }]);
  const registry = await createPluginRegistry({ pluginsDir });
  const modelsDir = join(root, 'models');
  const provisioner = createModelProvisioner({ modelsDir, progressIntervalMs: 0, retries: 0 });
  t.after(() => provisioner.close());
  const app = new Hono<ApiEnv>().onError((error, c) => toErrorResponse(error, c, () => undefined));
  app.route('/api/plugins', modelStatusRoutes(provisioner, registry));
  const status = async (id: string) => {
    const res = await app.request(`/api/plugins/${id}/models/status`);
    return { status: res.status, text: await res.text() };
  };
  /** Everything a page must not learn about the files. */
  const secrets = [...declared.flatMap((model) => [model.filename, model.source_url, model.sha256]), 'gone.bin', server.origin, modelsDir, root];
  const record = (id: string) => {
    const plugin = registry.get(id);
    assert.ok(plugin?.status === 'enabled');
    return plugin;
  };
  return { status, provisioner, secrets, record, total: small.length + large.length };
}

const assertNothingLeaks = (text: string, secrets: string[]) => {
  for (const secret of secrets) assert.ok(!text.includes(secret), `the answer ${text} holds ${secret}`);
  assert.deepEqual(Object.keys(JSON.parse(text)).sort(), ['receivedBytes', 'state', 'totalBytes']);
};

describe('GET /api/plugins/:id/models/status', () => {
  it('reports missing, then download progress over all files, then ready, with no file names, URLs, hashes or paths', async (t) => {
    const { status, provisioner, secrets, record, total } = await setup(t);
    const before = await status('good');
    assert.equal(before.status, 200);
    assert.deepEqual(JSON.parse(before.text), { state: 'missing', receivedBytes: 0, totalBytes: total });

    const ensured = provisioner.ensure(record('good'));
    let during: { state: string; receivedBytes: number; totalBytes: number } | undefined;
    while (!during) {
      const reply = await status('good');
      assertNothingLeaks(reply.text, secrets);
      const body = JSON.parse(reply.text) as { state: string; receivedBytes: number; totalBytes: number };
      if (body.state === 'downloading' && body.receivedBytes > 0 && body.receivedBytes < total) during = body;
      else if (body.state === 'ready') assert.fail('the throttled download finished before any progress was seen');
      else await sleep(10);
    }
    assert.equal(during.totalBytes, total);
    await ensured;
    const after = await status('good');
    assertNothingLeaks(after.text, secrets);
    assert.deepEqual(JSON.parse(after.text), { state: 'ready', receivedBytes: total, totalBytes: total });
  });

  it('reports a failed download as failed, without its error text', async (t) => {
    const { status, provisioner, secrets, record } = await setup(t);
    await assert.rejects(provisioner.ensure(record('gone')));
    const reply = await status('gone');
    assert.equal(reply.status, 200);
    assertNothingLeaks(reply.text, [...secrets, '404']);
    assert.equal(JSON.parse(reply.text).state, 'failed');
  });

  it('answers 404 for a plugin that does not exist', async (t) => {
    const { status } = await setup(t);
    const reply = await status('nope');
    assert.equal(reply.status, 404);
    assert.equal(JSON.parse(reply.text).error.code, 'plugin_not_found');
  });
});
