import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SNIFF_WINDOW, sniffHtml } from './html-sniffing.js';

const sniff = (text: string, complete = true) => sniffHtml(Buffer.from(text, 'latin1'), complete);

describe('sniffHtml', () => {
  // What Chromium 156 showed for each body, served with no Content-Type (checked by hand: document.contentType).
  it('tells HTML as Chromium does', () => {
    for (const html of ['<html><body>x', ' \n\t<!-- c --><p>x', '<H1>hello', '<bx>hello', '<script>1</script>', '<!DOCTYPE HTML>', '\f\v<p>', '<a href=x>']) assert.equal(sniff(html), 'html', JSON.stringify(html));
    for (const other of ['hello <b>x</b>', 'hello world this is text<html>', '\ufeff<html>', '<?xml version="1.0"?><html>', '%PDF-1.4', '<meta charset=utf-8><p>', '', ' '.repeat(SNIFF_WINDOW)]) assert.equal(sniff(other), 'other', JSON.stringify(other));
  });

  it('waits while the bytes so far may still become a signature, and no longer', () => {
    assert.equal(sniff('  ', false), 'undecided');
    assert.equal(sniff('<ht', false), 'undecided');
    assert.equal(sniff('<!DOCTYPE ht', false), 'undecided');
    assert.equal(sniff('<', false), 'undecided');
    assert.equal(sniff('<ht', true), 'other');
    assert.equal(sniff('<hx', false), 'other');
    assert.equal(sniff('<!DOCTYPE svg', false), 'other');
    assert.equal(sniff('<b', false), 'html');
  });

  it('looks only at the first 512 bytes', () => {
    assert.equal(sniff(`${' '.repeat(SNIFF_WINDOW - 2)}<p>`), 'html');
    assert.equal(sniff(`${' '.repeat(SNIFF_WINDOW - 2)}<html>`, false), 'other');
    assert.equal(sniff(`${' '.repeat(SNIFF_WINDOW)}<p>`, false), 'other');
  });
});
