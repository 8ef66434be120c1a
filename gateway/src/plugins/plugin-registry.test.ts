import assert from 'node:assert/strict';
import { chmod, chown, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { locatePluginFile } from './locate-plugin-file.js';
import { createPluginRegistry, loadPlugins, MAX_MANIFEST_BYTES, type BrokenPlugin, type PluginRecord } from './plugin-registry.js';

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

const errorsIn = (record: PluginRecord | undefined) => (record?.status === 'error' ? record.errors : []);
const assertUniqueIds = (records: PluginRecord[]) => assert.equal(new Set(records.map((record) => record.id)).size, records.length, `ids: ${records.map((record) => record.id).join(', ')}`);

describe('plugin registry', () => {
  it('loads valid manifests and applies defaults', async () => {
    const registry = await createPluginRegistry({ pluginsDir: await pluginsDir({ one: manifest('one') }) });
    const record = registry.get('one');
    assert.equal(record?.status, 'enabled');
    if (record?.status !== 'enabled') return;
    assert.equal(record.manifest.content_scripts[0]?.run_at, 'document_idle');
    assert.deepEqual(record.manifest.inference?.models[0]?.mirrors, []);
  });

  it('reads a manifest saved with a UTF-8 byte order mark (Notepad writes one), which JSON.parse refuses', async () => {
    const registry = await createPluginRegistry({ pluginsDir: await pluginsDir({ bom: `\uFEFF${JSON.stringify(manifest('bom'))}` }) });
    assert.equal(registry.get('bom')?.status, 'enabled', errorsIn(registry.get('bom')).join('\n'));
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

  it('refuses a manifest.json that is a symlink leading out of the plugin folder, saying so, and takes one that stays inside', async () => {
    const root = await pluginsDir({ outside: manifest('outside'), inside: manifest('inside') });
    // A valid manifest elsewhere: before the check it was read through the link and the plugin ran.
    await writeFile(join(root, 'elsewhere.json'), JSON.stringify(manifest('outside')));
    await rm(join(root, 'outside', 'manifest.json'));
    await symlink(join(root, 'elsewhere.json'), join(root, 'outside', 'manifest.json'));
    await writeFile(join(root, 'inside', 'real.json'), JSON.stringify(manifest('inside')));
    await rm(join(root, 'inside', 'manifest.json'));
    await symlink('real.json', join(root, 'inside', 'manifest.json'));
    for (const records of [await loadPlugins(root), (await createPluginRegistry({ pluginsDir: root })).list()]) {
      const outside = records.find((record) => record.dir.endsWith('outside'));
      assert.deepEqual(errorsIn(outside), ['manifest.json: is a symlink that resolves outside the plugin folder; put the manifest itself in the folder']);
      assert.equal(records.find((record) => record.dir.endsWith('inside'))?.status, 'enabled');
    }
  });

  it('says where a manifest stops being JSON, never what its bytes are', async () => {
    // A symlink to /etc/passwd put "root:x:0:0"… into the log and GET /api/plugins; a plain file
    // that is not JSON must not either.
    const passwdLike = 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n';
    assert.deepEqual(await errorsOf(passwdLike), ['manifest.json: invalid JSON at line 1, column 1 (unexpected character)']);
    assert.deepEqual(await errorsOf('{\n  "id": "x",\n  "token": s3cr3t-value\n}'), ['manifest.json: invalid JSON at line 3, column 12 (unexpected character)']);
    assert.deepEqual(await errorsOf('{ "id": "x", }'), ['manifest.json: invalid JSON at line 1, column 14 (Expected double-quoted property name)']);
    assert.deepEqual(await errorsOf('{ "id": '), ['manifest.json: invalid JSON at line 1, column 9 (the text ends before the JSON does)']);
    const root = await pluginsDir({ passwd: manifest('passwd') });
    await rm(join(root, 'passwd', 'manifest.json'));
    await symlink('/etc/passwd', join(root, 'passwd', 'manifest.json'));
    const errors = errorsIn((await loadPlugins(root))[0]);
    assert.deepEqual(errors, ['manifest.json: is a symlink that resolves outside the plugin folder; put the manifest itself in the folder']);
  });

  it('refuses a manifest past 1 MiB unread, and the other plugins load', async () => {
    // Valid JSON all the same: before the cap it was read whole and parsed, at every reload.
    const root = await pluginsDir({ big: manifest('big'), small: manifest('small') });
    await writeFile(join(root, 'big', 'manifest.json'), JSON.stringify(manifest('big')) + ' '.repeat(MAX_MANIFEST_BYTES));
    const records = await loadPlugins(root);
    assert.deepEqual(errorsIn(records.find((record) => record.dir.endsWith('big'))), ['manifest.json: is larger than a manifest can be (1 MiB at most)']);
    assert.equal(records.find((record) => record.dir.endsWith('small'))?.status, 'enabled');
  });

  it('keeps the first of two plugins with the same id, and disables only the second folder', async () => {
    const registry = await createPluginRegistry({ pluginsDir: await pluginsDir({ a: manifest('same'), b: manifest('same') }) });
    const [first, second] = registry.list();
    assert.equal(first?.status, 'enabled');
    assert.deepEqual(errorsIn(second), ['id: "same" is already used by the plugin in folder "a"']);
    assert.equal(registry.get('same'), first, 'a lookup by id gives the plugin that runs, not the duplicate');
    assert.deepEqual(registry.matching('https://www.example.com/').map((match) => match.plugin.dir), [first?.dir]);
    assert.equal(registry.get(second?.id ?? ''), second, 'the duplicate is still found under its own key');
    assertUniqueIds(registry.list());
  });

  it('never lets a folder that cannot load take the id of a plugin that can', async () => {
    // Sorted before the valid plugin, each of these used to claim "echo" and disable it as a duplicate.
    const leftovers: Record<string, (dir: string) => Promise<void>> = {
      'no manifest': async () => {},
      'invalid JSON': (dir) => writeFile(join(dir, 'manifest.json'), '{ "id": "echo",'),
      'a schema problem': (dir) => writeFile(join(dir, 'manifest.json'), JSON.stringify({ ...manifest('echo'), name: undefined })),
    };
    for (const [what, leave] of Object.entries(leftovers)) {
      const root = await pluginsDir({ 'echo-v2': manifest('echo') });
      await mkdir(join(root, 'echo'));
      await leave(join(root, 'echo'));
      for (const records of [await loadPlugins(root), (await createPluginRegistry({ pluginsDir: root })).list()]) {
        const good = records.find((record) => record.dir.endsWith('echo-v2'));
        const leftover = records.find((record) => record.dir.endsWith('echo'));
        assert.equal(good?.status, 'enabled', `${what}: ${errorsIn(good).join(' | ')}`);
        assert.equal(good?.id, 'echo');
        assert.equal(leftover?.status, 'error', what);
        assert.equal(leftover?.id, 'echo/', `${what}: keyed by its folder`);
        assertUniqueIds(records);
      }
    }
  });

  it('keys a folder without a usable id by its name, and one with a usable id by that id', async () => {
    const root = await pluginsDir({ stray: '{ broken', 'file-missing': { ...manifest('wanted'), content_scripts: [{ matches: ['<all_urls>'], js: ['gone.js'] }] } });
    const registry = await createPluginRegistry({ pluginsDir: root });
    assert.match(errorsIn(registry.get('stray'))[0] ?? '', /invalid JSON/);
    assert.match(errorsIn(registry.get('wanted'))[0] ?? '', /file "gone.js" does not exist/, 'GET /api/plugins/wanted says why it is off');
  });

  it('shares a model file between plugins and tells each who else declares it, disabling none for another hash', async () => {
    const withModel = (id: string, sha: string) => ({
      ...manifest(id),
      inference: { default_mode: 'local', models: [{ key: 'M', filename: 'shared.bin', source_url: 'https://example.com/m', sha256: sha }] },
    });
    const other = 'b'.repeat(64);
    const registry = await createPluginRegistry({ pluginsDir: await pluginsDir({ a: withModel('a', GOOD_SHA), b: withModel('b', GOOD_SHA), c: withModel('c', other), d: manifest('d') }) });
    for (const id of ['a', 'b', 'c']) assert.equal(registry.get(id)?.status, 'enabled', `${id}: which file wins is the provisioner's call (docs/MODELS.md §1)`);
    const peers = (id: string) => {
      const record = registry.get(id);
      return record?.status === 'enabled' ? record.modelPeers : undefined;
    };
    assert.deepEqual(peers('c'), [
      { filename: 'shared.bin', plugin: 'a', sha256: GOOD_SHA },
      { filename: 'shared.bin', plugin: 'b', sha256: GOOD_SHA },
    ]);
    assert.deepEqual(peers('a')?.map((peer) => peer.plugin), ['b', 'c']);
    assert.equal(peers('d'), undefined, 'no one else declares m.bin');
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

  it('keeps the last good version by folder, whatever the id', async () => {
    const root = await pluginsDir({ 'echo-main': manifest('echo') });
    const registry = await createPluginRegistry({ pluginsDir: root });
    const running = registry.get('echo');
    assert.equal(running?.status, 'enabled');
    for (const [typo, expected] of [['{ broken', /invalid JSON/], [JSON.stringify({ ...manifest('echo'), version: 1 }), /^version: /]] as const) {
      await writeFile(join(root, 'echo-main', 'manifest.json'), typo);
      await registry.reload();
      const kept = registry.get('echo');
      assert.equal(kept?.status, 'enabled');
      assert.equal(kept?.status === 'enabled' && kept.revision, running.status === 'enabled' && running.revision);
      assert.match(kept?.status === 'enabled' ? (kept.pendingErrors?.[0] ?? '') : '', expected);
      assertUniqueIds(registry.list());
    }
  });

  it('does not keep a broken edit running once another folder provides its id', async () => {
    const root = await pluginsDir({ 'b-main': manifest('echo') });
    const registry = await createPluginRegistry({ pluginsDir: root });
    await writeFile(join(root, 'b-main', 'manifest.json'), '{ broken');
    await mkdir(join(root, 'a-copy'));
    await writeFile(join(root, 'a-copy', 'content.js'), '// content');
    await writeFile(join(root, 'a-copy', 'backend.py'), 'def run(payload):\n    return payload\n');
    await writeFile(join(root, 'a-copy', 'manifest.json'), JSON.stringify(manifest('echo')));
    await registry.reload();
    assert.equal(registry.get('echo')?.dir, join(root, 'a-copy'));
    assert.equal(registry.list().filter((record) => record.status === 'enabled').length, 1, 'one plugin per id runs');
    assertUniqueIds(registry.list());
  });
});

describe('plugin folders that are symlinks', () => {
  /** A plugins folder whose `echo` is a symlink to a plugin kept elsewhere (`ln -s ~/src/echo plugins/echo`). */
  async function linkedPlugin(content: Record<string, unknown> = manifest('echo')): Promise<{ root: string; source: string }> {
    const elsewhere = await pluginsDir({ echo: content });
    const root = await mkdtemp(join(tmpdir(), 'aiplugs-plugins-'));
    await symlink(join(elsewhere, 'echo'), join(root, 'echo'));
    return { root, source: join(elsewhere, 'echo') };
  }

  it('loads a symlink to a folder as a plugin folder, its files contained in the folder it points to', async () => {
    const { root, source } = await linkedPlugin();
    const registry = await createPluginRegistry({ pluginsDir: root });
    const record = registry.get('echo');
    assert.equal(record?.status, 'enabled', errorsIn(record).join(' | '));
    assert.equal(record?.dir, join(root, 'echo'));
    assert.deepEqual(await locatePluginFile(record.dir, 'content.js'), { path: join(await realpath(source), 'content.js'), keepable: true });
  });

  it('still refuses a file that escapes the folder the symlink points to', async () => {
    const { root, source } = await linkedPlugin({ ...manifest('echo'), content_scripts: [{ matches: ['<all_urls>'], js: ['escape.js'] }] });
    await writeFile(join(source, '..', 'secret.js'), 'secret');
    await symlink(join(source, '..', 'secret.js'), join(source, 'escape.js'));
    const registry = await createPluginRegistry({ pluginsDir: root });
    assert.match(errorsIn(registry.get('echo'))[0] ?? '', /content_scripts\[0\]\.js\[0\]: "escape.js" resolves outside the plugin folder/);
    assert.equal(await locatePluginFile(join(root, 'echo'), 'escape.js'), null);
  });

  it('says what is wrong with a dangling symlink or one to a file, and ignores plain files', async () => {
    const root = await pluginsDir({ good: manifest('good') });
    await symlink(join(root, 'nowhere'), join(root, 'dangling'));
    await writeFile(join(root, 'notes.txt'), 'not a plugin');
    await symlink(join(root, 'notes.txt'), join(root, 'linked-file'));
    await writeFile(join(root, 'tsconfig.json'), '{}');
    const records = await loadPlugins(root);
    assert.deepEqual(
      records.map((record) => [record.id, record.status, ...errorsIn(record)]),
      [
        ['dangling', 'error', `a symlink to "${join(root, 'nowhere')}", which does not exist`],
        ['good', 'enabled'],
        ['linked-file', 'error', `a symlink to "${join(root, 'notes.txt')}", which is not a folder`],
      ],
    );
  });
});

describe('plugin folders another account can change', { skip: process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root to chown a folder to another account' : false }, () => {
  const OTHER = 12345;

  it("disables another account's plugin folder unread, and the others keep working", async () => {
    const root = await pluginsDir({ good: manifest('good'), planted: manifest('planted') });
    await chown(join(root, 'planted'), OTHER, OTHER);
    const registry = await createPluginRegistry({ pluginsDir: root });
    assert.equal(registry.get('good')?.status, 'enabled');
    assert.match(errorsIn(registry.get('planted')).join('\n'), /its folder .*planted is owned by another account \(uid 12345\)/);
  });

  it('disables every plugin of a plugins folder every account can write', async () => {
    const root = await pluginsDir({ good: manifest('good') });
    await chmod(root, 0o777);
    const registry = await createPluginRegistry({ pluginsDir: root });
    assert.match(errorsIn(registry.get('good')).join('\n'), /the plugins folder .* is writable by other accounts \(mode 0777\)/);
  });

  it('keeps no last good version running once its folder becomes writable by others', async () => {
    const root = await pluginsDir({ good: manifest('good') });
    const registry = await createPluginRegistry({ pluginsDir: root });
    assert.equal(registry.get('good')?.status, 'enabled');
    await chmod(join(root, 'good'), 0o777);
    await registry.reload();
    assert.equal(registry.get('good')?.status, 'error');
  });

  it("trusts the user's group-writable folders (umask 002)", async () => {
    const root = await pluginsDir({ good: manifest('good') });
    await chmod(root, 0o775);
    await chmod(join(root, 'good'), 0o775);
    assert.equal((await createPluginRegistry({ pluginsDir: root })).get('good')?.status, 'enabled');
  });
});
