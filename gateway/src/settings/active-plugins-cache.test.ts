import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createPluginRegistry } from '../plugins/plugin-registry.js';
import { recordingLogger } from '../workers/test-support.js';
import { activePlugins } from './active-plugins.js';
import { createActivePluginsCache } from './active-plugins-cache.js';
import { createSettingsStore } from './settings-store.js';

async function writePlugin(root: string, id: string, matches: string[]): Promise<void> {
  await mkdir(join(root, id), { recursive: true });
  await writeFile(join(root, id, 'content.js'), '// content');
  const manifest = { manifest_version: 3, id, name: id, version: '1.0.0', description: 'test', content_scripts: [{ matches, js: ['content.js'] }] };
  await writeFile(join(root, id, 'manifest.json'), JSON.stringify(manifest));
}

async function setUp() {
  const root = await mkdtemp(join(tmpdir(), 'aiplugs-active-cache-'));
  await writePlugin(join(root, 'plugins'), 'one', ['*://*.example.com/*']);
  const registry = await createPluginRegistry({ pluginsDir: join(root, 'plugins') });
  const settings = await createSettingsStore({
    dataDir: root,
    defaults: { paused: false, disabled_sites: [], plugin_disabled_sites: {}, plugin_modes: {}, plugin_allowed_secrets: {}, webai_cloud_origins: [] },
    logger: recordingLogger().logger,
  });
  return { root, registry, settings, active: createActivePluginsCache(registry, () => settings.get()) };
}

const ids = (matches: Array<{ plugin: { id: string } }>) => matches.map(({ plugin }) => plugin.id);

describe('active plugins cache', () => {
  it('answers what activePlugins answers, and the same answer again for the same URL', async () => {
    const { registry, settings, active } = await setUp();
    for (const url of ['https://www.example.com/a', 'https://other.test/', 'not a url']) {
      assert.deepEqual(ids(active(url)), ids(activePlugins(registry, settings.get(), url)));
    }
    assert.equal(active('https://www.example.com/a'), active('https://www.example.com/a'), 'the second ask is the remembered answer');
  });

  it('forgets its answers when the settings change (pause, a site switched off)', async () => {
    const { settings, active } = await setUp();
    assert.deepEqual(ids(active('https://www.example.com/a')), ['one']);
    await settings.update({ paused: true });
    assert.deepEqual(ids(active('https://www.example.com/a')), []);
    await settings.update({ paused: false, disabled_sites: ['www.example.com'] });
    assert.deepEqual(ids(active('https://www.example.com/a')), []);
    await settings.update({ disabled_sites: [] });
    assert.deepEqual(ids(active('https://www.example.com/a')), ['one']);
  });

  it('forgets its answers when the plugins change (a new plugin, a changed match pattern)', async () => {
    const { root, registry, active } = await setUp();
    assert.deepEqual(ids(active('https://www.example.com/a')), ['one']);
    await writePlugin(join(root, 'plugins'), 'two', ['*://*.example.com/*']);
    await writePlugin(join(root, 'plugins'), 'one', ['*://*.example.org/*']);
    await registry.reload();
    assert.deepEqual(ids(active('https://www.example.com/a')), ['two']);
    assert.deepEqual(ids(active('https://www.example.org/')), ['one']);
  });
});
