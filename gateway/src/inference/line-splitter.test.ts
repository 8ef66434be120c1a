import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLineSplitter, StreamLimitError } from './line-splitter.js';

test('splits on CR, LF and CRLF, wherever the pieces break', () => {
  const text = 'one\r\ntwo\rthree\n\nfour\r\r\nfive';
  for (const size of [1, 2, 3, 7, text.length]) {
    const lines = createLineSplitter();
    const out: string[] = [];
    for (let i = 0; i < text.length; i += size) out.push(...lines.push(text.slice(i, i + size)));
    assert.deepEqual([...out, lines.end()], ['one', 'two', 'three', '', 'four', '', 'five'], `pieces of ${size}`);
  }
});

test('an unfinished line past the bound throws at once; finished lines up to it pass', () => {
  const lines = createLineSplitter(10);
  assert.deepEqual(lines.push('0123456789\n'), ['0123456789']);
  lines.push('01234');
  assert.throws(() => lines.push('567890'), StreamLimitError);
  assert.throws(() => createLineSplitter(10).push('01234567890\n'), /A line is longer than 10 characters/);
});
