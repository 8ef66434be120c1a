import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { frameMatches } from './frame-matches.js';
import { contentScriptSchema } from './manifest-schema.js';
import type { LoadedPlugin, PluginMatch } from './plugin-registry.js';

const group = (allFrames?: boolean) => contentScriptSchema.parse({ matches: ['<all_urls>'], js: ['a.js'], ...(allFrames === undefined ? {} : { all_frames: allFrames }) });
const matchOf = (id: string, ...scripts: ReturnType<typeof group>[]): PluginMatch => ({ plugin: { id } as LoadedPlugin, scripts });

describe('frameMatches', () => {
  it('gives frames only the groups that ask for them, as WebExtensions do (all_frames defaults to false)', () => {
    assert.equal(group().all_frames, false);
    const both = matchOf('both', group(true), group());
    const framesOnly = matchOf('frames', group(true));
    const topOnly = matchOf('top', group(), group(false));
    const kept = frameMatches([both, framesOnly, topOnly]);
    assert.deepEqual(kept.map(({ plugin, scripts }) => [plugin.id, scripts.length]), [['both', 1], ['frames', 1]]);
    assert.equal(kept[1], framesOnly, 'a plugin kept whole is not copied');
    assert.deepEqual(frameMatches([topOnly]), []);
  });
});
