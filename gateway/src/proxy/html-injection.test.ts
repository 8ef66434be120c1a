import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractContentType } from './content-type.js';
import { isWideCharset, startsWithUtf16Bom } from './html-injection.js';

const wideByContentType = (contentType: string | undefined): boolean => isWideCharset(extractContentType({ 'content-type': contentType })?.charset);

describe('ASCII-incompatible pages', () => {
  it('spots UTF-16 by BOM or charset', () => {
    assert.equal(startsWithUtf16Bom(Buffer.from([0xff, 0xfe, 0x3c, 0x00])), true);
    assert.equal(startsWithUtf16Bom(Buffer.from([0xfe, 0xff, 0x00, 0x3c])), true);
    assert.equal(startsWithUtf16Bom(Buffer.from([0xef, 0xbb, 0xbf, 0x3c])), false);
    assert.equal(startsWithUtf16Bom(Buffer.from('<htm')), false);
    assert.equal(wideByContentType('text/html; charset=UTF-16LE'), true);
    assert.equal(wideByContentType('text/html; charset=shift_jis'), false);
  });

  it('knows every label the Encoding Standard gives UTF-16, however the parameter is written', () => {
    for (const label of ['unicode', 'UCS-2', 'csunicode', 'iso-10646-ucs-2', 'unicodefeff', 'unicodefffe', 'utf-16', 'utf-16be', 'utf-32']) {
      assert.equal(wideByContentType(`text/html; charset=${label}`), true, label);
      assert.equal(wideByContentType(`text/html;Charset="${label.toUpperCase()}" ;q=1`), true, `"${label}"`);
    }
    // Spaces around `=` make no parameter, for Chromium as for the MIME Sniffing Standard: such a page is decoded as windows-1252.
    for (const contentType of ['text/html; charset=utf-8', 'text/html; charset=unicode-1-1-utf-8', 'text/html; x-charset=unicode', 'text/html; charset = utf-16', 'text/html', undefined]) {
      assert.equal(wideByContentType(contentType), false, String(contentType));
    }
  });
});
