import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAsciiIncompatible } from './html-injection.js';

describe('isAsciiIncompatible', () => {
  it('spots UTF-16 by BOM or charset', () => {
    assert.equal(isAsciiIncompatible(Buffer.from([0xff, 0xfe, 0x3c, 0x00]), 'text/html'), true);
    assert.equal(isAsciiIncompatible(Buffer.from('<htm'), 'text/html; charset=UTF-16LE'), true);
    assert.equal(isAsciiIncompatible(Buffer.from('<htm'), 'text/html; charset=shift_jis'), false);
  });

  it('knows every label the Encoding Standard gives UTF-16, however the parameter is written', () => {
    for (const label of ['unicode', 'UCS-2', 'csunicode', 'iso-10646-ucs-2', 'unicodefeff', 'unicodefffe', 'utf-16', 'utf-16be', 'utf-32']) {
      assert.equal(isAsciiIncompatible(Buffer.from('<\0h\0'), `text/html; charset=${label}`), true, label);
      assert.equal(isAsciiIncompatible(Buffer.from('<\0h\0'), `text/html;Charset = "${label}" ;q=1`), true, `"${label}"`);
    }
    for (const contentType of ['text/html; charset=utf-8', 'text/html; charset=unicode-1-1-utf-8', 'text/html; x-charset=unicode', 'text/html', undefined]) {
      assert.equal(isAsciiIncompatible(Buffer.from('<htm'), contentType), false, String(contentType));
    }
  });
});
