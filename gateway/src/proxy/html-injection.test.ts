import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAsciiIncompatible } from './html-injection.js';

describe('isAsciiIncompatible', () => {
  it('spots UTF-16 by BOM or charset', () => {
    assert.equal(isAsciiIncompatible(Buffer.from([0xff, 0xfe, 0x3c, 0x00]), 'text/html'), true);
    assert.equal(isAsciiIncompatible(Buffer.from('<htm'), 'text/html; charset=UTF-16LE'), true);
    assert.equal(isAsciiIncompatible(Buffer.from('<htm'), 'text/html; charset=shift_jis'), false);
  });
});
