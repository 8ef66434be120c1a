import assert from 'node:assert/strict';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createPluginRegistry, type BrokenPlugin } from './plugin-registry.js';

const GOOD_SHA = 'a'.repeat(64);

function manifest(id: string, extra: Record<string, unknown> = {}) {
  return {
    manifest_version: 3,
    id,
    name: id,
    version: '1.0.0',
    description: 'test',
    content_scripts: [{ matches: ['*://*.example.com/*'], exclude_matches: ['*://*.example.com/private/*'], js: ['content.js'] }],
    inference: { default_mode: 'local', local_entry: 'backend.py', models: [{ key: 'MODEL_PATH', filename: 'm.bin', source_url: 'https://example.com/m.bin', sha256: GOOD_SHA }] },
    ...extra,
  };
}

async function pluginsDir(plugins: Record<string, unknown>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'aiplugs-plugins-'));
  for (const [folder, content] of Object.entries(plugins)) {
    await mkdir(join(root, folder));
    await writeFile(join(root, folder, 'content.js'), '// content');
    await writeFile(join(root, folder, 'backend.py'), 'def run(payload):\n    return payload\n');
    await writeFile(join(root, folder, 'manifest.json'), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return root;
}

async function errorsOf(content: unknown): Promise<string[]> {
  const broken: BrokenPlugin[] = [];
  const registry = await createPluginRegistry({ pluginsDir: await pluginsDir({ good: manifest('good'), bad: content }), onBroken: (p) => broken.push(p) });
  assert.equal(registry.get('good')?.status, 'enabled', 'a broken plugin must not take the others down');
  const bad = registry.list().find((record) => record.dir.endsWith('bad'));
  assert.equal(bad?.status, 'error');
  assert.equal(broken.length, 1);
  return bad.status === 'error' ? bad.errors : [];
}

describe('plugin registry', () => {
  it('loads valid manifests and applies defaults', async () => {
    const registry = await createPluginRegistry({ pluginsDir: await pluginsDir({ one: manifest('one') }) });
    const record = registry.get('one');
    assert.equal(record?.status, 'enabled');
    if (record?.status !== 'enabled') return;
    assert.equal(record.manifest.content_scripts[0]?.run_at, 'document_idle');
    assert.deepEqual(record.manifest.inference?.models[0]?.mirrors, []);
  });

  it('disables a plugin with bad JSON', async () => {
    assert.match((await errorsOf('{ "id": '))[0] ?? '', /invalid JSON/);
  });

  it('reports each schema problem with its JSON path', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ name: undefined }, /^name: /],
      [{ inference: { default_mode: 'remote' } }, /^inference\.default_mode: /],
      [{ inference: { default_mode: 'local', models: [{ key: 'K', filename: '../evil', source_url: 'https://x/y', sha256: GOOD_SHA }] } }, /inference\.models\[0\]\.filename: expected a plain file name/],
      [{ inference: { default_mode: 'local', models: [{ key: 'K', filename: 'a/b', source_url: 'https://x/y', sha256: GOOD_SHA }] } }, /filename: expected a plain file name/],
      [{ inference: { default_mode: 'local', models: [{ key: '1-BAD', filename: 'a', source_url: 'https://x/y', sha256: GOOD_SHA }] } }, /key: expected an environment variable name/],
      [{ inference: { default_mode: 'local', models: [{ key: 'K', filename: 'a', source_url: 'https://x/y', sha256: 'abc' }] } }, /sha256: expected 64 hexadecimal digits/],
      [{ inference: { default_mode: 'local', models: [{ key: 'K', filename: 'a', source_url: 'ftp://x/y', sha256: GOOD_SHA }] } }, /source_url: expected an http:, https: or file: URL/],
      [{ content_scripts: [{ matches: ['not a pattern'], js: ['content.js'] }] }, /content_scripts\[0\]\.matches\[0\]: Invalid match pattern/],
      [{ content_scripts: [{ matches: ['<all_urls>'], js: ['../outside.js'] }] }, /content_scripts\[0\]\.js\[0\]: expected a relative path inside the plugin folder/],
      [{ id: 'Bad Id' }, /^id: /],
      [{ manifest_version: 2 }, /^manifest_version: /],
    ];
    for (const [patch, expected] of cases) {
      const errors = await errorsOf({ ...manifest('bad'), ...patch });
      assert.ok(errors.some((line) => expected.test(line)), `${JSON.stringify(patch)} → ${errors.join(' | ')}`);
    }
  });

  it('disables a plugin whose files are missing or escape through a symlink', async () => {
    assert.match((await errorsOf({ ...manifest('bad'), content_scripts: [{ matches: ['<all_urls>'], js: ['missing.js'] }] }))[0] ?? '', /file "missing.js" does not exist/);
    const root = await pluginsDir({ linked: manifest('linked') });
    await writeFile(join(root, 'secret.js'), 'secret');
    await symlink(join(root, 'secret.js'), join(root, 'linked', 'escape.js'));
    await writeFile(join(root, 'linked', 'manifest.json'), JSON.stringify({ ...manifest('linked'), content_scripts: [{ matches: ['<all_urls>'], js: ['escape.js'] }] }));
    const registry = await createPluginRegistry({ pluginsDir: root });
    const record = registry.get('linked');
    assert.equal(record?.status, 'error');
    assert.match(record?.status === 'error' ? (record.errors[0] ?? '') : '', /resolves outside the plugin folder/);
  });

  it('keeps the first of two plugins with the same id', async () => {
    const registry = await createPluginRegistry({ pluginsDir: await pluginsDir({ a: manifest('same'), b: manifest('same') }) });
    const records = registry.list();
    assert.equal(records[0]?.status, 'enabled');
    assert.equal(records[1]?.status, 'error');
  });

  it('shares a model file between plugins but refuses one name with two hashes', async () => {
    const withModel = (id: string, sha: string) => ({
      ...manifest(id),
      inference: { default_mode: 'local', models: [{ key: 'M', filename: 'shared.bin', source_url: 'https://example.com/m', sha256: sha }] },
    });
    const registry = await createPluginRegistry({ pluginsDir: await pluginsDir({ a: withModel('a', GOOD_SHA), b: withModel('b', GOOD_SHA), c: withModel('c', 'b'.repeat(64)) }) });
    assert.equal(registry.get('a')?.status, 'enabled');
    assert.equal(registry.get('b')?.status, 'enabled');
    const c = registry.get('c');
    assert.equal(c?.status, 'error');
    assert.match(c?.status === 'error' ? (c.errors[0] ?? '') : '', /inference\.models\[0\]\.filename: "shared\.bin" is already declared by plugin "a" with a different sha256/);
  });

  it('matches URLs with WebExtension semantics, honouring exclude_matches', async () => {
    const registry = await createPluginRegistry({
      pluginsDir: await pluginsDir({ one: manifest('one'), all: { ...manifest('all'), content_scripts: [{ matches: ['<all_urls>'], js: ['content.js'] }] } }),
    });
    const ids = (url: string) => registry.matching(url).map((match) => match.plugin.id);
    assert.deepEqual(ids('https://www.example.com/page'), ['all', 'one']);
    assert.deepEqual(ids('http://example.com/'), ['all', 'one']);
    assert.deepEqual(ids('https://www.example.com/private/x'), ['all']);
    assert.deepEqual(ids('https://example.org/'), ['all']);
    assert.deepEqual(ids('https://notexample.com/'), ['all']);
  });
});

describe('plugin registry reloads', () => {
  it('reports changed plugins and keeps the last good version when an edit breaks one', async () => {
    const root = await pluginsDir({ one: manifest('one'), two: manifest('two') });
    const registry = await createPluginRegistry({ pluginsDir: root });
    const changes: string[][] = [];
    registry.onChange((ids) => changes.push(ids));
    const before = registry.get('one');

    await registry.reload();
    assert.deepEqual(changes, [], 'nothing changed, nothing reported');

    await writeFile(join(root, 'one', 'content.js'), '// edited, and longer than before');
    await registry.reload();
    assert.deepEqual(changes, [['one']]);
    const edited = registry.get('one');
    assert.ok(edited?.status === 'enabled' && before?.status === 'enabled' && edited.revision !== before.revision);

    await writeFile(join(root, 'one', 'manifest.json'), '{ broken');
    await registry.reload();
    const kept = registry.get('one');
    assert.equal(kept?.status, 'enabled');
    assert.match(kept?.status === 'enabled' ? (kept.pendingErrors?.[0] ?? '') : '', /invalid JSON/);
    assert.deepEqual(registry.matching('https://www.example.com/').map((m) => m.plugin.id), ['one', 'two']);
  });
});
