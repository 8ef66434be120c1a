import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findMetaCspTags, metaCspTag } from './meta-csp.js';

describe('meta CSP tags', () => {
  it('finds tags in any quoting and case, decoding entities', () => {
    const text = `<META HTTP-EQUIV=content-security-policy CONTENT="default-src &apos;self&apos;"><meta name="x" content="y"><meta http-equiv='Content-Security-Policy-Report-Only' content='img-src "none" > x'>`;
    const tags = findMetaCspTags(text);
    assert.deepEqual(tags.map(({ policy, reportOnly }) => ({ policy, reportOnly })), [
      { policy: "default-src 'self'", reportOnly: false },
      { policy: 'img-src "none" > x', reportOnly: true },
    ]);
    assert.equal(text.slice(tags[1]?.start, tags[1]?.end).endsWith("x'>"), true);
  });

  it('writes ASCII-only, safely quoted tags', () => {
    assert.equal(metaCspTag(`script-src "a" & é`, false), '<meta http-equiv="Content-Security-Policy" content="script-src &quot;a&quot; &amp; &#233;">');
  });
});
