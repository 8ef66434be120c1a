import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BrokenPlugin, LoadedPlugin, PluginRecord } from './plugin-registry.js';
import { describeReload } from './reload-outcome.js';

const enabled = (id: string, revision: string, extra: Partial<LoadedPlugin> = {}): LoadedPlugin => ({
  id,
  dir: `/plugins/${id}`,
  status: 'enabled',
  manifest: { version: '1.2.3' } as LoadedPlugin['manifest'],
  contentScripts: [],
  revision,
  inlineScripts: new Map(),
  ...extra,
});
const broken = (id: string, errors: string[]): BrokenPlugin => ({ id, dir: `/plugins/${id}`, status: 'error', errors });
const lines = (before: PluginRecord[], after: PluginRecord[]) => describeReload(before, after).map(({ level, message }) => `${level} ${message}`);

describe('reload outcomes', () => {
  it('says one line per plugin that changed, and nothing for the others', () => {
    assert.deepEqual(lines([enabled('same', 'r1'), enabled('edited', 'r1'), enabled('gone', 'r1')], [enabled('same', 'r1'), enabled('edited', 'r2'), enabled('new', 'r1')]), [
      'info Plugin "edited" reloaded (version 1.2.3)',
      'info Plugin "new" added (version 1.2.3)',
      'info Plugin "gone" removed',
    ]);
  });

  it('a broken edit of a running plugin is one warning, not also "disabled", and is not repeated while unchanged', () => {
    const good = enabled('p', 'r1');
    const kept = { ...good, pendingErrors: ['manifest.json: invalid JSON'] };
    assert.deepEqual(lines([good], [kept]), ['warn Plugin "p" edit is broken (manifest.json: invalid JSON); keeping the last good version running']);
    assert.deepEqual(lines([kept], [kept]), []);
    assert.deepEqual(lines([kept], [enabled('p', 'r2')]), ['info Plugin "p" reloaded (version 1.2.3)']);
  });

  it('a plugin that cannot load is disabled once; fixing it enables it again', () => {
    assert.deepEqual(lines([], [broken('b', ['id: bad'])]), ['warn Plugin "b" is disabled: id: bad']);
    assert.deepEqual(lines([broken('b', ['id: bad'])], [broken('b', ['id: bad'])]), []);
    assert.deepEqual(lines([broken('b', ['id: bad'])], [enabled('b', 'r1')]), ['info Plugin "b" enabled again (version 1.2.3): its problems are fixed']);
  });
});
