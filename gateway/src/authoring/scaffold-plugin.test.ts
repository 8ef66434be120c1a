import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadPlugin } from '../plugins/plugin-registry.js';
import { compileContentScript, contentScriptCovers } from '../plugins/url-matcher.js';
import { scaffoldPlugin, ScaffoldError } from './scaffold-plugin.js';

const run = promisify(execFile);

describe('scaffoldPlugin', () => {
  for (const backend of ['node', 'python'] as const) {
    it(`writes a ${backend} plugin that loads and passes its own test`, async () => {
      const pluginsDir = await mkdtemp(join(tmpdir(), 'aiplugs-scaffold-'));
      const result = await scaffoldPlugin({ id: `demo-${backend}`, pluginsDir, backend });
      const loaded = await loadPlugin(result.dir, `demo-${backend}`);
      assert.equal(loaded.status, 'enabled', loaded.status === 'error' ? loaded.errors.join('\n') : '');
      if (loaded.status === 'enabled') {
        assert.equal(loaded.manifest.inference?.local_entry, backend === 'node' ? 'backend.js' : 'backend.py');
        assert.equal(loaded.manifest.name, `Demo ${backend[0]!.toUpperCase()}${backend.slice(1)}`);
      }
      const [program, ...args] = result.testCommand;
      // Without NODE_TEST_CONTEXT the child is a test run of its own, not a subtest of this one.
      const { NODE_TEST_CONTEXT: _, ...env } = process.env;
      const { stdout, stderr } = await run(program!, args, { cwd: result.dir, env });
      assert.match(`${stdout}${stderr}`, backend === 'node' ? /# pass 2/ : /Ran 2 tests[\s\S]*OK/);
      assert.deepEqual((await readdir(result.dir)).sort(), ['README.md', 'content.js', 'manifest.json', 'package.json', backend === 'node' ? 'backend.js' : 'backend.py', 'test'].sort());
    });
  }

  it('writes a web-ai plugin: no backend, a content script on the standard LanguageDetector, its syntax checked', async () => {
    const pluginsDir = await mkdtemp(join(tmpdir(), 'aiplugs-scaffold-'));
    const result = await scaffoldPlugin({ id: 'page-language', pluginsDir, backend: 'web-ai' });
    const loaded = await loadPlugin(result.dir, 'page-language');
    assert.equal(loaded.status, 'enabled', loaded.status === 'error' ? loaded.errors.join('\n') : '');
    if (loaded.status === 'enabled') assert.equal(loaded.manifest.inference, undefined);
    assert.deepEqual((await readdir(result.dir)).sort(), ['README.md', 'content.js', 'manifest.json', 'package.json']);
    const content = await readFile(join(result.dir, 'content.js'), 'utf8');
    assert.match(content, /LanguageDetector\.availability\(\)/);
    assert.doesNotMatch(content, /AiPlugs\.infer/);
    for (const file of ['content.js', 'README.md']) assert.doesNotMatch(await readFile(join(result.dir, file), 'utf8'), /\{\{\w+\}\}/, `${file}: every placeholder is filled`);
    assert.doesNotMatch(await readFile(join(result.dir, 'README.md'), 'utf8'), /run\(payload\)|npm test|worker restarts/);
    const [program, ...args] = result.testCommand;
    await run(program!, args, { cwd: result.dir });
  });

  it('points the manifest at the JSON Schema and uses the given options', async () => {
    const pluginsDir = await mkdtemp(join(tmpdir(), 'aiplugs-scaffold-'));
    const result = await scaffoldPlugin({ id: 'shop-helper', pluginsDir, name: 'Shop Helper', description: 'Helps.', matches: ['*://shop.example/*'] });
    const manifest = JSON.parse(await readFile(join(result.dir, 'manifest.json'), 'utf8'));
    assert.match(manifest.$schema, /schemas\/manifest\.schema\.json$/);
    assert.equal(manifest.name, 'Shop Helper');
    assert.equal(manifest.description, 'Helps.');
    assert.deepEqual(manifest.content_scripts[0].matches, ['*://shop.example/*']);
    const content = await readFile(join(result.dir, 'content.js'), 'utf8');
    assert.match(content, /AiPlugs\.infer\(PLUGIN/);
    assert.doesNotMatch(content, /\{\{\w+\}\}/, 'every placeholder is filled');
  });

  it('runs on local pages only until its author widens "matches"', async () => {
    const pluginsDir = await mkdtemp(join(tmpdir(), 'aiplugs-scaffold-'));
    const result = await scaffoldPlugin({ id: 'new-idea', pluginsDir });
    const loaded = await loadPlugin(result.dir, 'new-idea');
    assert.equal(loaded.status, 'enabled');
    if (loaded.status !== 'enabled') return;
    const [script] = loaded.manifest.content_scripts;
    const covers = (url: string) => contentScriptCovers(compileContentScript(script!), url);
    for (const url of ['http://localhost:3000/', 'https://localhost:8443/app', 'http://127.0.0.1/page']) assert.equal(covers(url), true, url);
    for (const url of ['https://example.com/', 'https://news.ycombinator.com/item?id=1', 'http://localhost.evil.example/']) assert.equal(covers(url), false, url);
    const readme = await readFile(join(result.dir, 'README.md'), 'utf8');
    assert.match(readme, /edit `matches` in `manifest\.json`/);
  });

  it('refuses a bad id, an unknown backend and an existing folder, and leaves nothing behind', async () => {
    const pluginsDir = await mkdtemp(join(tmpdir(), 'aiplugs-scaffold-'));
    await assert.rejects(scaffoldPlugin({ id: 'Bad Id', pluginsDir }), (error: Error) => error instanceof ScaffoldError && /Invalid plugin id "Bad Id"/.test(error.message));
    await assert.rejects(scaffoldPlugin({ id: 'ok', pluginsDir, backend: 'ruby' as 'node' }), /Unknown backend "ruby"/);
    await scaffoldPlugin({ id: 'taken', pluginsDir });
    await assert.rejects(scaffoldPlugin({ id: 'taken', pluginsDir }), /already exists/);
    assert.deepEqual(await readdir(pluginsDir), ['taken']);
  });
});
