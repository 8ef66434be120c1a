import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createPluginRegistry, type PluginRegistry } from '../../plugins/plugin-registry.js';
import { ApiError } from '../api-error.js';
import { createPluginFileReader } from './plugin-files.js';

const MANIFEST = {
  manifest_version: 3,
  id: 'files',
  name: 'Files',
  version: '1.0.0',
  content_scripts: [{ matches: ['<all_urls>'], js: ['content.js'], css: ['a/b/c/d/deep.css'] }],
  web_accessible_resources: ['assets/*', 'shared/*', 'node_modules/lib/*'],
};

describe('plugin files', () => {
  let root: string;
  let registry: PluginRegistry;
  const dir = () => join(root, 'files');
  const text = async (reader: ReturnType<typeof createPluginFileReader>, path: string) => (await reader.read('files', path)).body.toString();

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'aiplugs-plugin-files-'));
    await mkdir(join(dir(), 'a/b/c/d'), { recursive: true });
    await mkdir(join(dir(), 'assets'), { recursive: true });
    await writeFile(join(dir(), 'manifest.json'), JSON.stringify(MANIFEST));
    await writeFile(join(dir(), 'content.js'), 'one');
    await writeFile(join(dir(), 'a/b/c/d/deep.css'), 'deep one');
    await writeFile(join(dir(), 'assets/logo.svg'), '<svg/>');
    await mkdir(join(dir(), 'node_modules/lib'), { recursive: true });
    await writeFile(join(dir(), 'node_modules/lib/vendor.js'), 'vendor one');
    await writeFile(join(dir(), 'backend.js'), 'secret');
    // A folder reached through a symlink: the revision fingerprint does not walk into it.
    await mkdir(join(dir(), 'vendor/shared'), { recursive: true });
    await writeFile(join(dir(), 'vendor/shared/linked.js'), 'linked one');
    await symlink(join(dir(), 'vendor/shared'), join(dir(), 'shared'));
    registry = await createPluginRegistry({ pluginsDir: root });
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('serves published files with their type, and "not found" for anything else', async () => {
    const reader = createPluginFileReader(registry);
    assert.deepEqual(await reader.read('files', 'content.js'), { body: Buffer.from('one'), type: 'text/javascript; charset=utf-8' });
    assert.equal((await reader.read('files', 'assets/logo.svg')).type, 'image/svg+xml');
    for (const path of ['backend.js', 'manifest.json', '../files/content.js', 'assets/missing.svg']) {
      await assert.rejects(reader.read('files', path), (error: ApiError) => error.status === 404, path);
    }
    await assert.rejects(reader.read('nobody', 'content.js'), (error: ApiError) => error.status === 404);
  });

  it('answers a file from memory until hot reload gives its plugin a new revision', async () => {
    const reader = createPluginFileReader(registry);
    assert.equal(await text(reader, 'content.js'), 'one');
    await writeFile(join(dir(), 'content.js'), 'two!');
    // Not reloaded yet: the plugin is still the revision that file belonged to.
    assert.equal(await text(reader, 'content.js'), 'one');
    await registry.reload();
    assert.equal(await text(reader, 'content.js'), 'two!');
  });

  it('re-reads what the revision does not cover: a file reached through a symlink, deeper than the fingerprint looks, or in node_modules', async () => {
    const reader = createPluginFileReader(registry);
    assert.equal(await text(reader, 'node_modules/lib/vendor.js'), 'vendor one');
    await writeFile(join(dir(), 'node_modules/lib/vendor.js'), 'vendor two');
    assert.equal(await text(reader, 'node_modules/lib/vendor.js'), 'vendor two');
    assert.equal(await text(reader, 'shared/linked.js'), 'linked one');
    assert.equal(await text(reader, 'a/b/c/d/deep.css'), 'deep one');
    await writeFile(join(dir(), 'vendor/shared/linked.js'), 'linked two');
    await writeFile(join(dir(), 'a/b/c/d/deep.css'), 'deep two');
    // No reload: a kept copy would still say "one".
    assert.equal(await text(reader, 'shared/linked.js'), 'linked two');
    assert.equal(await text(reader, 'a/b/c/d/deep.css'), 'deep two');
  });

  it('keeps no more than its byte bound, and never a file over its per-file bound', async () => {
    const reader = createPluginFileReader(registry, { maxBytes: 8, maxFileBytes: 4 });
    await writeFile(join(dir(), 'content.js'), 'big file');
    await registry.reload();
    assert.equal(await text(reader, 'content.js'), 'big file');
    await writeFile(join(dir(), 'content.js'), 'changed');
    // Too big to keep: read again, so the change shows although the revision is the same.
    assert.equal(await text(reader, 'content.js'), 'changed');
  });
});
