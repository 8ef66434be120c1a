import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../config/load-config.js';
import * as fromSources from './builtin-plugins.js';

/** The compiled module (`npm run build`, which the unit runner does first): what `aiplugs start` runs. */
const COMPILED = new URL('../../dist/webai/builtin-plugins.js', import.meta.url).href;

test('the Web AI built-ins name backend files that exist, from the sources and in the compiled gateway (no TypeScript there)', async () => {
  const config = await loadConfig();
  const compiled = (await import(COMPILED)) as typeof fromSources;
  for (const [where, module, extension] of [['sources', fromSources, '.ts'], ['compiled', compiled, '.js']] as const) {
    const builtIns = await module.createWebAiBuiltIns(config.webai);
    assert.equal(builtIns.all.length, 2, `${where}: both built-ins (language-lens's manifest readable)`);
    for (const plugin of builtIns.all) {
      const entry = plugin.manifest.inference?.local_entry ?? '';
      assert.ok(entry.endsWith(extension), `${where}: ${plugin.id} runs ${entry}`);
      assert.ok(existsSync(join(plugin.dir, entry)), `${where}: ${join(plugin.dir, entry)} is missing`);
    }
  }
});
