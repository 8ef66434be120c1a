import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createPluginRegistry, type LoadedPlugin, type PluginRegistry } from '../plugins/plugin-registry.js';
import { fixture, rejectsWith, type Fixture } from './testing/provisioner-fixture.js';
import { randomContent, sha256Hex } from './testing/model-test-server.js';

/*
 * Two plugins declaring one model file name with different hashes (audit F1): the plugins come from
 * a real registry, as in the gateway, so the registry's cross-plugin rule and the provisioner's
 * decision are tested together.
 */

/** Writes plugin `id` into `pluginsDir`, declaring `shared.bin` served at `path`. */
async function writePlugin(f: Fixture, pluginsDir: string, id: string, path: string, content: Buffer): Promise<void> {
  f.server.files.set(path, { content });
  const dir = join(pluginsDir, id);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'backend.py'), 'def run(payload):\n    return payload\n');
  const manifest = {
    manifest_version: 3,
    id,
    name: id,
    version: '1.0.0',
    inference: {
      default_mode: 'local',
      local_entry: 'backend.py',
      models: [{ key: 'MODEL', filename: 'shared.bin', source_url: f.server.url(path), sha256: sha256Hex(content), size: content.length }],
    },
  };
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
}

function enabledPlugin(registry: PluginRegistry, id: string): LoadedPlugin {
  const record = registry.get(id);
  assert.equal(record?.status, 'enabled', `plugin ${id} should stay enabled: ${record?.status === 'error' ? record.errors.join('; ') : 'missing'}`);
  return record as LoadedPlugin;
}

const setAside = async (modelsDir: string) => (await readdir(modelsDir)).filter((name) => name.includes('.corrupt-'));

describe('one model file name, two hashes', () => {
  it('keeps the installed plugin and its verified file when a newcomer declares the name with another hash', async (t) => {
    const f = await fixture(t);
    const pluginsDir = join(f.root, 'plugins-f1');
    const installed = randomContent(64 * 1024);
    const other = randomContent(64 * 1024);
    await writePlugin(f, pluginsDir, 'zz-installed', '/installed.bin', installed);
    const registry = await createPluginRegistry({ pluginsDir });
    const provisioner = f.provisioner();
    const env = await provisioner.ensure(enabledPlugin(registry, 'zz-installed'));
    assert.equal(env.MODEL, join(f.modelsDir, 'shared.bin'));

    // A newcomer sorting first by id arrives with the same file name and another hash.
    await writePlugin(f, pluginsDir, 'aa-newcomer', '/other.bin', other);
    await registry.reload();
    const newcomer = enabledPlugin(registry, 'aa-newcomer');
    const error = await rejectsWith(provisioner.ensure(newcomer), 'conflict');
    assert.match(error.message, /aa-newcomer/);
    assert.match(error.message, /zz-installed/);
    assert.match(error.message, /rename/i);
    assert.equal(f.server.requestsFor('/other.bin').length, 0, 'the newcomer must not download over the installed file');

    // The installed plugin keeps working, on its own untouched file.
    assert.deepEqual(await provisioner.ensure(enabledPlugin(registry, 'zz-installed')), env);
    assert.ok((await readFile(join(f.modelsDir, 'shared.bin'))).equals(installed));
    assert.deepEqual(await setAside(f.modelsDir), [], 'a verified file is never moved aside for another plugin');

    const [status] = await provisioner.list(registry.list().filter((record): record is LoadedPlugin => record.status === 'enabled'));
    assert.equal(status?.state, 'conflict');
    assert.deepEqual(status?.plugins.map((owner) => owner.id).sort(), ['aa-newcomer', 'zz-installed']);
    assert.equal(status?.error?.code, 'conflict');
    assert.match(status?.error?.message ?? '', /rename/i);

    // After a restart (new registry, new provisioner) the file on disk still decides, not the id order.
    const restarted = await createPluginRegistry({ pluginsDir });
    const again = f.provisioner();
    await rejectsWith(again.ensure(enabledPlugin(restarted, 'aa-newcomer')), 'conflict');
    assert.deepEqual(await again.ensure(enabledPlugin(restarted, 'zz-installed')), env);
    assert.ok((await readFile(join(f.modelsDir, 'shared.bin'))).equals(installed));
    assert.deepEqual(await setAside(f.modelsDir), []);
  });

  it('with no file on disk yet, gives the name to the first plugin in id order whoever asks first', async (t) => {
    const f = await fixture(t);
    const pluginsDir = join(f.root, 'plugins-fresh');
    const first = randomContent(32 * 1024);
    const second = randomContent(32 * 1024);
    await writePlugin(f, pluginsDir, 'bb', '/bb.bin', second);
    await writePlugin(f, pluginsDir, 'aa', '/aa.bin', first);
    const registry = await createPluginRegistry({ pluginsDir });
    const provisioner = f.provisioner();
    const error = await rejectsWith(provisioner.ensure(enabledPlugin(registry, 'bb')), 'conflict');
    assert.match(error.message, /aa/);
    assert.equal(f.server.requestsFor('/bb.bin').length, 0);
    await provisioner.ensure(enabledPlugin(registry, 'aa'));
    assert.ok((await readFile(join(f.modelsDir, 'shared.bin'))).equals(first));
    await rejectsWith(provisioner.ensure(enabledPlugin(registry, 'bb')), 'conflict');
  });

  it('still moves aside a present file that matches none of the declared hashes', async (t) => {
    const f = await fixture(t);
    const pluginsDir = join(f.root, 'plugins-corrupt');
    const first = randomContent(32 * 1024);
    await writePlugin(f, pluginsDir, 'aa', '/aa.bin', first);
    await writePlugin(f, pluginsDir, 'bb', '/bb.bin', randomContent(32 * 1024));
    await mkdir(f.modelsDir, { recursive: true });
    await writeFile(join(f.modelsDir, 'shared.bin'), 'damaged');
    const registry = await createPluginRegistry({ pluginsDir });
    await f.provisioner().ensure(enabledPlugin(registry, 'aa'));
    assert.ok((await readFile(join(f.modelsDir, 'shared.bin'))).equals(first));
    assert.equal((await setAside(f.modelsDir)).length, 1);
  });
});
