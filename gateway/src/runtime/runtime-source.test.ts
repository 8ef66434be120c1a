import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { wrapPageRuntime } from './runtime-source.js';

describe('wrapPageRuntime', () => {
  it('wraps a bundle as a function of the page config', () => {
    assert.equal(wrapPageRuntime('run(AIPLUGS_PAGE_CONFIG);\n'), '(function (AIPLUGS_PAGE_CONFIG) {\nrun(AIPLUGS_PAGE_CONFIG);\n})');
  });

  it('refuses a bundle that could not sit inline in an HTML or XHTML document', () => {
    // Each would end our script early, or make the parser miss its end, or break the XHTML CDATA section.
    for (const bundle of ['x = "</script>";', 'x = "</SCRIPT";', 'x = "<!--";', 'x = a[b[c]]>d;', 'x = "é";']) {
      assert.throws(() => wrapPageRuntime(bundle), /must be ASCII and must not contain/, bundle);
    }
  });
});
