import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Hono } from 'hono';
import type { Logger } from '../../events/logger.js';
import { createPluginRegistry, type PluginRegistry } from '../../plugins/plugin-registry.js';
import { createSettingsStore, type SettingsStore } from '../../settings/settings-store.js';
import { toErrorResponse } from '../api-error.js';
import type { ApiEnv } from '../api-env.js';
import { settingsRoutes } from './settings-routes.js';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

describe('PATCH /api/settings with a bad site pattern', () => {
  let dir: string;
  let store: SettingsStore;
  let app: Hono<ApiEnv>;
  let registry: PluginRegistry;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aiplugs-settings-'));
    registry = await createPluginRegistry({ pluginsDir: join(process.cwd(), 'plugins') });
    store = await createSettingsStore({
      dataDir: dir,
      defaults: { paused: false, disabled_sites: ['kept.example'], plugin_disabled_sites: {}, plugin_modes: {}, plugin_allowed_secrets: {}, webai_cloud_origins: [] },
      logger: silent,
    });
    app = new Hono<ApiEnv>().route('/api/settings', settingsRoutes(store, registry, () => []));
    app.onError((error, c) => toErrorResponse(error, c, () => undefined));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const patch = async (body: unknown) => {
    const response = await app.request('/api/settings', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as { error?: { code: string; message: string } } };
  };

  it('says which pattern is wrong and how to write one, not where it sat in the array', async () => {
    const { status, body } = await patch({ disabled_sites: ['ok.example', 'https://bad.example/path'] });
    assert.equal(status, 400);
    assert.equal(body.error?.code, 'invalid_body');
    assert.equal(body.error?.message, '"https://bad.example/path" is not a site pattern: write a host name like example.com or *.example.com, without http://, a path or a port');
    assert.doesNotMatch(body.error?.message ?? '', /disabled_sites\.\d/);
    // Nothing was lost: the settings are as they were.
    assert.deepEqual(store.get().disabled_sites, ['kept.example']);
  });

  it('names the plugin for a per-plugin rule, and cuts a huge value short', async () => {
    const { body } = await patch({ plugin_disabled_sites: { echo: ['a b'] } });
    assert.equal(body.error?.message, 'For plugin "echo": "a b" is not a site pattern: write a host name like example.com or *.example.com, without http://, a path or a port');
    const long = await patch({ disabled_sites: ['x'.repeat(100_000)] });
    assert.ok((long.body.error?.message.length ?? Infinity) < 300, long.body.error?.message.slice(0, 300));
    assert.match(long.body.error?.message ?? '', /longer than any host name/);
  });

  it('other mistakes still say where they are', async () => {
    const { body } = await patch({ paused: 'yes' });
    assert.match(body.error?.message ?? '', /^paused: /);
  });
});
