import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it, type TestContext } from 'node:test';
import { createEventBus, type GatewayEvent } from '../events/event-bus.js';
import { createPluginRegistry } from '../plugins/plugin-registry.js';
import { createModelProvisioner } from './model-provisioner.js';
import { modelsRoutes } from './models-routes.js';
import { randomContent, sha256Hex, startModelServer } from './testing/model-test-server.js';

async function setup(t: TestContext) {
  const root = await mkdtemp(join(tmpdir(), 'aiplugs-routes-'));
  const server = await startModelServer();
  t.after(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });
  const content = randomContent(16 * 1024);
  server.files.set('/m.bin', { content });
  const pluginsDir = join(root, 'plugins');
  const write = async (folder: string, manifest: unknown) => {
    await mkdir(join(pluginsDir, folder), { recursive: true });
    await writeFile(join(pluginsDir, folder, 'manifest.json'), JSON.stringify(manifest));
  };
  await write('good', {
    manifest_version: 3,
    id: 'good',
    name: 'Good',
    version: '1.0.0',
    inference: { default_mode: 'local', models: [{ key: 'MODEL', filename: 'm.bin', source_url: server.url('/m.bin'), sha256: sha256Hex(content) }] },
  });
  await write('broken', { manifest_version: 3, id: 'broken' });
  const registry = await createPluginRegistry({ pluginsDir });
  const bus = createEventBus();
  const events: GatewayEvent[] = [];
  bus.subscribe((event) => events.push(event));
  const modelsDir = join(root, 'models');
  const provisioner = createModelProvisioner({ modelsDir, bus, progressIntervalMs: 0 });
  const app = modelsRoutes(provisioner, registry, bus);
  const post = (body: string, route = '/pull') => app.request(route, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  return { app, post, events, modelsDir };
}

describe('models routes', () => {
  it('GET / lists every declared model with its state', async (t) => {
    const { app } = await setup(t);
    const res = await app.request('/');
    assert.equal(res.status, 200);
    const body = (await res.json()) as { models: Array<{ filename: string; state: string; plugins: unknown }>; offline: boolean };
    assert.equal(body.offline, false);
    assert.deepEqual(
      body.models.map(({ filename, state, plugins }) => ({ filename, state, plugins })),
      [{ filename: 'm.bin', state: 'missing', plugins: [{ id: 'good', key: 'MODEL' }] }],
    );
  });

  it('POST /pull starts a download in the background and answers 202', async (t) => {
    const { post, events, modelsDir, app } = await setup(t);
    const res = await post(JSON.stringify({ plugin: 'good' }));
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { pulling: [{ plugin: 'good', models: ['m.bin'] }] });
    while (!events.some((event) => event.type === 'model-progress' && event.state === 'ready')) await sleep(5);
    assert.ok(existsSync(join(modelsDir, 'm.bin')));
    const listed = (await (await app.request('/')).json()) as { models: Array<{ state: string }> };
    assert.equal(listed.models[0]?.state, 'ready');
    assert.equal((await post(JSON.stringify({ plugin: 'all' }))).status, 202);
  });

  it('POST /pull rejects bad input with {"error":{"code","message"}}', async (t) => {
    const { post } = await setup(t);
    const cases: Array<[string, number, string]> = [
      ['{not json', 400, 'invalid_json'],
      [JSON.stringify({}), 400, 'invalid_body'],
      [JSON.stringify({ plugin: '../x' }), 400, 'invalid_body'],
      [JSON.stringify({ plugin: 'nope' }), 404, 'plugin_not_found'],
      [JSON.stringify({ plugin: 'broken' }), 409, 'plugin_broken'],
    ];
    for (const [body, status, code] of cases) {
      const res = await post(body);
      assert.equal(res.status, status, body);
      const json = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(json.error.code, code);
      assert.ok(json.error.message.length > 0);
    }
  });

  it('POST /verify re-hashes in the background: progress, then ready, or failed with words when the file changed', async (t) => {
    const { post, events, modelsDir } = await setup(t);
    const last = () => events.filter((event) => event.type === 'model-progress').at(-1);
    const verify = async () => {
      events.length = 0;
      const res = await post(JSON.stringify({ plugin: 'good' }), '/verify');
      assert.equal(res.status, 202);
      assert.deepEqual(await res.json(), { verifying: [{ plugin: 'good', models: ['m.bin'] }] });
      while (!events.some((event) => event.type === 'model-progress' && (event.state === 'ready' || event.state === 'failed'))) await sleep(5);
      return last();
    };
    assert.deepEqual(await verify(), { ...last(), state: 'failed', error: 'Not downloaded yet: nothing to verify' });
    await post(JSON.stringify({ plugin: 'good' }));
    while (!events.some((event) => event.type === 'model-progress' && event.state === 'ready')) await sleep(5);
    const ready = await verify();
    assert.equal(ready?.type === 'model-progress' && ready.state, 'ready');
    assert.ok(events.some((event) => event.type === 'model-progress' && event.state === 'verifying'), 'verifying progress was reported');
    await writeFile(join(modelsDir, 'm.bin'), 'tampered');
    const corrupt = await verify();
    assert.equal(corrupt?.type === 'model-progress' && corrupt.error, 'The file does not match its declared SHA-256: download it again');
    assert.equal((await post('{}', '/verify')).status, 400);
  });
});
