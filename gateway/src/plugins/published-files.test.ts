import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PluginManifest } from './manifest-schema.js';
import { MAX_PUBLISHED_PATH, MAX_PUBLISHED_SEGMENT, publishedFiles } from './published-files.js';

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

  it(`refuses a path segment over ${MAX_PUBLISHED_SEGMENT} characters, the longest file name there is`, () => {
    // Within 1,024 characters, one segment of near misses took 4.7 s against a glob of four wildcards in a segment.
    const isPublished = publishedFiles(manifest(['assets/*-*-*-*.png']));
    assert.equal(isPublished('assets/a-b-c-d.png'), true);
    assert.equal(isPublished(`assets/${'a'.repeat(MAX_PUBLISHED_SEGMENT - 10)}-b-c-d.png`), true);
    assert.equal(isPublished(`assets/${'a-'.repeat(MAX_PUBLISHED_SEGMENT)}b.png`), false, 'a long segment the glob matches');
    assert.equal(isPublished(`assets/${'a-'.repeat(500)}`), false);
  });
});
