import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load-config.js';
import * as fromSources from './builtin-plugins.js';

/** The compiled module (`npm run build`, which the unit runner does first): what `aiplugs start` runs. */
const COMPILED = new URL('../../dist/webai/builtin-plugins.js', import.meta.url).href;

test('the Web AI built-ins name backend files that exist, from the sources and in the compiled gateway (no TypeScript there)', async () => {
  const config = await loadConfig();
  const compiled = (await import(COMPILED)) as typeof fromSources;
  for (const [where, module, extension] of [['sources', fromSources, '.ts'], ['compiled', compiled, '.js']] as const) {
    const builtIns = await module.createWebAiBuiltIns(config.webai);
    assert.equal(builtIns.all.length, 2, `${where}: both built-ins`);
    for (const plugin of builtIns.all) {
      const entry = plugin.manifest.inference?.local_entry ?? '';
      assert.ok(entry.endsWith(extension), `${where}: ${plugin.id} runs ${entry}`);
      assert.ok(existsSync(join(plugin.dir, entry)), `${where}: ${join(plugin.dir, entry)} is missing`);
    }
  }
});

test("lid.176's declaration: its package mirror is a file that exists and matches the declared SHA-256 and size, from the sources and compiled", async () => {
  const compiled = (await import(COMPILED)) as typeof fromSources;
  for (const [where, module] of [['sources', fromSources], ['compiled', compiled]] as const) {
    const { languageDetector } = await module.createWebAiBuiltIns((await loadConfig()).webai);
    const [lid] = languageDetector.manifest.inference?.models ?? [];
    assert.ok(lid, `${where}: the detector declares its model`);
    assert.equal(lid.key, 'LID_MODEL_PATH');
    assert.match(lid.source_url, /^https:\/\//, 'the official URL comes first');
    const mirror = lid.mirrors[0] ?? '';
    assert.ok(mirror.startsWith('file:///'), `${where}: an absolute file: mirror (${mirror})`);
    const bytes = await readFile(fileURLToPath(mirror));
    assert.equal(bytes.length, lid.size);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), lid.sha256);
  }
});
