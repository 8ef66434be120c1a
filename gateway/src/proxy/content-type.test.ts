import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractContentType, splitHeaderValues } from './content-type.js';

describe('splitHeaderValues', () => {
  it('splits on commas outside quoted strings only, escapes included', () => {
    assert.deepEqual(splitHeaderValues('text/plain, text/html'), ['text/plain', 'text/html']);
    assert.deepEqual(splitHeaderValues('text/html;charset="a,b", text/plain'), ['text/html;charset="a,b"', 'text/plain']);
    assert.deepEqual(splitHeaderValues('text/html;x="a\\",b",text/plain'), ['text/html;x="a\\",b"', 'text/plain']);
    assert.deepEqual(splitHeaderValues('text/html;x="unterminated, text/plain'), ['text/html;x="unterminated, text/plain']);
    assert.deepEqual(splitHeaderValues(''), ['']);
  });
});

// Each expectation below is what Chromium 156 showed for the same headers (document.contentType
// and document.characterSet of a page served so), checked by hand.
describe('extractContentType, as the browser takes a document', () => {
  const of = (value: string | string[] | undefined) => extractContentType({ 'content-type': value });

  it('lets the last valid value win, across repeated headers and commas alike', () => {
    assert.deepEqual(of(['text/plain', 'text/html']), { essence: 'text/html', charset: undefined });
    assert.deepEqual(of(['text/html; charset=utf-8', 'text/plain']), { essence: 'text/plain', charset: undefined });
    assert.deepEqual(of('text/plain, text/html'), { essence: 'text/html', charset: undefined });
  });

  it('skips values that do not parse and */*', () => {
    assert.deepEqual(of(['text/html', 'bogus']), { essence: 'text/html', charset: undefined });
    assert.deepEqual(of('text/html, */*'), { essence: 'text/html', charset: undefined });
    assert.equal(of('bogus'), null);
    assert.equal(of(undefined), null);
    assert.equal(extractContentType({}), null);
  });

  it('carries the latest charset to a later value of the same essence, and none across essences', () => {
    assert.deepEqual(of(['text/html;charset=GBK', 'text/html']), { essence: 'text/html', charset: 'gbk' });
    assert.deepEqual(of(['text/html; charset=gbk', 'text/html; charset=utf-16le', 'text/html']), { essence: 'text/html', charset: 'utf-16le' });
    assert.deepEqual(of(['text/html; charset=utf-16le', 'text/plain', 'text/html']), { essence: 'text/html', charset: undefined });
  });

  it('reads the header under any casing of its name, and quoted charsets', () => {
    assert.deepEqual(extractContentType({ 'Content-Type': 'Text/HTML; Charset="Shift_JIS"' }), { essence: 'text/html', charset: 'shift_jis' });
    assert.deepEqual(of('text/html; charset="utf-16le'), { essence: 'text/html', charset: 'utf-16le' });
  });

  it('takes a header of a million values or escapes (an upstream header is hostile input)', () => {
    const commas = ','.repeat(1 << 20);
    const quotes = `text/html;x="${'\\"'.repeat(1 << 19)}`;
    assert.deepEqual(of(commas + 'text/html'), { essence: 'text/html', charset: undefined });
    assert.deepEqual(of(quotes), { essence: 'text/html', charset: undefined });
  });
});
