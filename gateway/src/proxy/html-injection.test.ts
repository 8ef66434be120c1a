import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findInjectionOffset, isAsciiIncompatible, spliceMarkup } from './html-injection.js';

const at = (html: string, final = true) => findInjectionOffset(Buffer.from(html, 'latin1'), final);
const after = (html: string, marker: string) => html.indexOf(marker) + marker.length;

describe('findInjectionOffset', () => {
  it('goes right after <head>, with attributes and quoted ">"', () => {
    const html = '<!DOCTYPE html><html lang="en"><head data-x="a>b"><script>1</script>';
    assert.equal(at(html), after(html, '"a>b">'));
  });

  it('goes after <html> when there is no <head>', () => {
    const html = '<!doctype html>\n<html>\n<body><script>page()</script>';
    assert.equal(at(html), after(html, '<html>'));
  });

  it('goes to the top (after doctype and comments) when there is neither', () => {
    const html = '<!-- banner --><!doctype html><script>page()</script><p>hi';
    assert.equal(at(html), after(html, '<!doctype html>'));
    assert.equal(at('<p>just text'), 0);
    assert.equal(at(''), 0);
  });

  it('skips a UTF-8 BOM and an XML declaration', () => {
    const bom = '\xef\xbb\xbf<head><title>';
    assert.equal(at(bom), 3 + '<head>'.length);
    const xhtml = '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head>';
    assert.equal(at(xhtml), xhtml.length);
  });

  it('is case-insensitive and does not mistake <header> for <head>', () => {
    assert.equal(at('<HTML><HEAD><TITLE>'), '<HTML><HEAD>'.length);
    assert.equal(at('<html><header>x</header>'), '<html>'.length);
  });

  it('asks for more bytes when a stream ends before the point is certain', () => {
    assert.equal(at('<!doctype html><html><he', false), null);
    assert.equal(at('<!-- long comment', false), null);
    assert.equal(at('<html><head data-x="unfinished', false), null);
    assert.equal(at('<html><body>', false), '<html>'.length);
  });
});

describe('spliceMarkup', () => {
  it('keeps every byte of a non-UTF-8 page and adds only the markup', () => {
    const shiftJis = Buffer.concat([Buffer.from('<html><head>'), Buffer.from([0x83, 0x65, 0x83, 0x58, 0x83, 0x67]), Buffer.from('</head>')]);
    const out = spliceMarkup(shiftJis, 12, '<script>x()</script>');
    assert.deepEqual(out.subarray(0, 12), shiftJis.subarray(0, 12));
    assert.equal(out.subarray(12, 32).toString('latin1'), '<script>x()</script>');
    assert.deepEqual(out.subarray(32), shiftJis.subarray(12));
  });
});

describe('isAsciiIncompatible', () => {
  it('spots UTF-16 by BOM or charset', () => {
    assert.equal(isAsciiIncompatible(Buffer.from([0xff, 0xfe, 0x3c, 0x00]), 'text/html'), true);
    assert.equal(isAsciiIncompatible(Buffer.from('<htm'), 'text/html; charset=UTF-16LE'), true);
    assert.equal(isAsciiIncompatible(Buffer.from('<htm'), 'text/html; charset=shift_jis'), false);
  });
});
