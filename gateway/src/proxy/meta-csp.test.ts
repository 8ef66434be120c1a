import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metaCspEdit, metaCspPolicy, quoteAttributeValue } from './meta-csp.js';
import { firstTag as tokenizeFirstTag } from './testing/first-tag.js';

const firstTag = (html: string) => tokenizeFirstTag(html).tag;

const apply = (html: string, rewrite: (policy: string) => string | null) => {
  const edit = metaCspEdit(firstTag(html), rewrite);
  return edit ? html.slice(0, edit.start) + edit.text + html.slice(edit.end) : html;
};

describe('meta CSP tags', () => {
  it('finds the policy in any quoting and case, decoding every character reference', () => {
    assert.deepEqual(metaCspPolicy(firstTag(`<META HTTP-EQUIV=content-security-policy CONTENT="default-src &apos;self&apos;&semi; img-src &#x27;none&#39;">`))?.policy, "default-src 'self'; img-src 'none'");
    assert.equal(metaCspPolicy(firstTag(`<meta http-equiv='Content-Security-Policy-Report-Only' content='img-src "none" > x'>`))?.policy, 'img-src "none" > x');
    assert.equal(metaCspPolicy(firstTag(`<meta name="x" content="y">`)), null);
    // As in HTML, the first of two same-named attributes wins, and an empty policy is no policy.
    assert.equal(metaCspPolicy(firstTag(`<meta http-equiv=refresh http-equiv=content-security-policy content=a>`)), null);
    assert.equal(metaCspPolicy(firstTag(`<meta http-equiv=content-security-policy content>`)), null);
  });

  it('rewrites only the content value, keeping every other attribute and byte', () => {
    assert.equal(
      apply(`<meta id="csp" http-equiv="Content-Security-Policy" content="script-src 'self'" data-x='1'>`, (policy) => `${policy} 'nonce-a'`),
      `<meta id="csp" http-equiv="Content-Security-Policy" content="script-src 'self' 'nonce-a'" data-x='1'>`,
    );
    assert.equal(apply(`<meta http-equiv=content-security-policy content=default-src class=k>`, (policy) => `${policy} 'self'`), `<meta http-equiv=content-security-policy content="default-src 'self'" class=k>`);
    assert.equal(apply(`<meta http-equiv=content-security-policy content=a>`, (policy) => policy), `<meta http-equiv=content-security-policy content=a>`);
  });

  it('removes the whole tag when asked to', () => {
    assert.equal(apply(`<meta http-equiv="Content-Security-Policy" content="a">`, () => null), '');
  });

  it('writes ASCII-only, safely quoted values', () => {
    assert.equal(quoteAttributeValue(`script-src "a" & é`), '"script-src &quot;a&quot; &amp; &#233;"');
  });
});
