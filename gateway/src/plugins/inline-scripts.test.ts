import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MAX_INLINE_SCRIPT_BYTES, readInlineScripts, runsTheSameInline } from './inline-scripts.js';
import type { PluginManifest } from './manifest-schema.js';
import { createPluginRegistry } from './plugin-registry.js';

const manifest = (content_scripts: Array<{ js: string[]; run_at?: string }>) =>
  ({ manifest_version: 3, id: 'inline', name: 'inline', version: '1.0.0', description: 'test', content_scripts: content_scripts.map((script) => ({ matches: ['<all_urls>'], ...script })) }) as PluginManifest;

describe('inline document_start scripts', () => {
  it('are text that runs the same inline as from its URL', () => {
    for (const same of ['window.a = 1;', 'if (a < b && "<script>" !== "-->") {}\r\n// end', "'use strict';\n\tlet x = `a\nb`;", 'x.important(1); reimport(2);']) {
      assert.equal(runsTheSameInline(same), true, JSON.stringify(same));
    }
    const notTheSame = [
      'x = "</script>";', // ends the element
      'x = "</SCRIPT >";',
      'x = "<!--"; y = "<script>";', // hides the end tag from the parser
      'x = "é";', // bytes that depend on the document's charset
      'x = "\0";', // the parser makes it U+FFFD
      'x = "\v";',
      'new URL("a.svg", document.currentScript.src);', // inline, it has no src
      'import("./chunk.js");', // resolved against the script's URL
      'import ("./chunk.js");',
      'x();\n//# sourceMappingURL=content.js.map', // fetched from next to the script
      'x();\n//@ sourceURL=mine.js',
    ];
    for (const text of notTheSame) assert.equal(runsTheSameInline(text), false, JSON.stringify(text));
  });

  it('are read up to the limit, only those the revision sees, never through a symlink, never anything else', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aiplugs-inline-'));
    await mkdir(join(dir, 'node_modules', 'lib'), { recursive: true });
    await writeFile(join(dir, 'start.js'), 'window.started = 1;');
    await writeFile(join(dir, 'big.js'), `// ${'x'.repeat(MAX_INLINE_SCRIPT_BYTES)}`);
    await writeFile(join(dir, 'limit.js'), 'y'.repeat(MAX_INLINE_SCRIPT_BYTES));
    await writeFile(join(dir, 'utf8.js'), 'window.text = "é";');
    await writeFile(join(dir, 'node_modules', 'lib', 'dep.js'), 'window.dep = 1;');
    await writeFile(join(dir, 'real.js'), 'window.real = 1;');
    await symlink(join(dir, 'real.js'), join(dir, 'linked.js'));
    const texts = await readInlineScripts(
      dir,
      manifest([
        { js: ['start.js', 'big.js', 'limit.js', 'utf8.js', 'node_modules/lib/dep.js', 'linked.js', 'missing.js'], run_at: 'document_start' },
        { js: ['real.js'], run_at: 'document_end' },
        { js: ['real.js'] },
      ]),
    );
    // Too big, not ASCII, under node_modules (an edit there gives no new revision), behind a symlink, gone: loaded by URL.
    assert.deepEqual([...texts.keys()].sort(), ['limit.js', 'start.js']);
    assert.equal(texts.get('start.js'), 'window.started = 1;');
    await rm(dir, { recursive: true });
    assert.equal((await readInlineScripts(dir, manifest([{ js: ['start.js'], run_at: 'document_start' }]))).size, 0, 'a folder gone mid-reload is no error');
  });

  it('follow edits through the registry: a new revision reads the file again', async () => {
    const root = await mkdtemp(join(tmpdir(), 'aiplugs-inline-plugins-'));
    await mkdir(join(root, 'inline'));
    await writeFile(join(root, 'inline', 'start.js'), 'window.started = 1;');
    await writeFile(join(root, 'inline', 'manifest.json'), JSON.stringify(manifest([{ js: ['start.js'], run_at: 'document_start' }])));
    const registry = await createPluginRegistry({ pluginsDir: root });
    const loaded = registry.get('inline');
    assert.ok(loaded?.status === 'enabled');
    assert.equal(loaded.inlineScripts.get('start.js'), 'window.started = 1;');
    await writeFile(join(root, 'inline', 'start.js'), 'window.started = 2; // edited');
    await registry.reload();
    const edited = registry.get('inline');
    assert.ok(edited?.status === 'enabled' && edited.revision !== loaded.revision);
    assert.equal(edited.inlineScripts.get('start.js'), 'window.started = 2; // edited');
  });
});
