import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contentScriptSchema } from './manifest-schema.js';
import { compileContentScript, contentScriptCovers, globMatches } from './url-matcher.js';

describe('globMatches', () => {
  it('matches the whole text, "*" as any run of characters and "?" as any one', () => {
    const cases: Array<[string, string, boolean]> = [
      ['https://*.example.com/*', 'https://www.example.com/a', true],
      ['https://*.example.com/*', 'https://example.com/a', false],
      ['*://*/docs/*', 'https://x.test/docs/', true],
      ['*nytimes.com/???s/*', 'https://www.nytimes.com/arts/index.html', true],
      ['*nytimes.com/???s/*', 'https://www.nytimes.com/jobs/index.html', true],
      ['*nytimes.com/???s/*', 'https://www.nytimes.com/sports/index.html', false],
      ['*', '', true],
      ['', '', true],
      ['a*', 'b', false],
      ['*a*b*a*', 'xxaxxbxxa', true],
      ['*a*b*a*', 'xxaxxbxxb', false],
      ['http://x.test/page', 'http://x.test/page?q', false],
    ];
    for (const [glob, text, expected] of cases) assert.equal(globMatches(glob, text), expected, `${glob} ~ ${text}`);
  });

  it('answers a glob of many stars against a long URL that nearly matches (a regular expression built from it backtracks for ever)', () => {
    assert.equal(globMatches('*a*a*a*a*a*a*a*b', `https://x.test/${'a'.repeat(20_000)}`), false);
  });
});

describe('contentScriptCovers', () => {
  const covers = (script: Record<string, unknown>, url: string) => contentScriptCovers(compileContentScript(contentScriptSchema.parse({ matches: ['<all_urls>'], js: ['a.js'], ...script })), url);

  it('takes include_globs and exclude_globs as WebExtensions do: ignoring them ran plugins where their authors excluded them', () => {
    assert.equal(covers({}, 'https://a.test/x'), true);
    assert.equal(covers({ include_globs: ['*/app/*'] }, 'https://a.test/app/1'), true);
    assert.equal(covers({ include_globs: ['*/app/*'] }, 'https://a.test/blog/1'), false);
    assert.equal(covers({ exclude_globs: ['*/admin/*'] }, 'https://a.test/admin/users'), false);
    assert.equal(covers({ include_globs: ['*/app/*'], exclude_globs: ['*/app/settings*'] }, 'https://a.test/app/settings'), false);
    assert.equal(covers({ matches: ['https://b.test/*'], include_globs: ['*/app/*'] }, 'https://a.test/app/1'), false, 'globs narrow matches, never widen them');
  });
});
