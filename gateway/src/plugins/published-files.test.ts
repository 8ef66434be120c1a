import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PluginManifest } from './manifest-schema.js';
import { MAX_PUBLISHED_PATH, publishedFiles } from './published-files.js';

const manifest = (globs: string[]) =>
  ({ manifest_version: 3, id: 'p', name: 'P', version: '1.0.0', content_scripts: [{ matches: ['<all_urls>'], js: ['content.js'], css: [] }], web_accessible_resources: globs }) as unknown as PluginManifest;

describe('publishedFiles', () => {
  it('publishes content scripts and what the globs match, never a dotfile', () => {
    const isPublished = publishedFiles(manifest(['assets/*', '**/*.png']));
    for (const path of ['content.js', 'assets/logo.svg', 'img/deep/a.png']) assert.equal(isPublished(path), true, path);
    for (const path of ['backend.js', '.env', 'assets/.secret', 'manifest.json', '../x/content.js']) assert.equal(isPublished(path), false, path);
  });

  it(`refuses a path over ${MAX_PUBLISHED_PATH} characters before any glob sees it`, () => {
    // Globs whose regexes backtrack on long near misses: a page's 160 KB path took 6 s here.
    const isPublished = publishedFiles(manifest(['**/*.*', '*-*.js']));
    assert.equal(isPublished(`${'a/'.repeat(100)}b.c`), true);
    assert.equal(isPublished(`${'a/'.repeat(MAX_PUBLISHED_PATH)}b.c`), false, 'a long path the glob matches');
    assert.equal(isPublished(`${'a.'.repeat(80_000)}/b`), false);
    assert.equal(isPublished(`${'a-'.repeat(80_000)}.js`), false);
  });
});
