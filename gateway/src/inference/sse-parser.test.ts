import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSseParser, StreamLimitError } from './sse-parser.js';

test('parses events split anywhere, with CRLF, comments, names and multi-line data', () => {
  const parser = createSseParser();
  const text = ': keep-alive\r\nevent: chunk\r\ndata: {"a":\r\ndata: 1}\r\n\r\ndata:plain\n\nid: 7\ndata: last\r';
  const events = [...text].flatMap((char) => parser.push(char));
  assert.deepEqual(events, [
    { event: 'chunk', data: '{"a":\n1}' },
    { event: 'message', data: 'plain' },
  ]);
  assert.deepEqual(parser.end(), [{ event: 'message', data: 'last', id: '7' }]);
});

test('bounds a line and an event by maxEventChars, however the text is split', () => {
  const long = createSseParser({ maxEventChars: 1000 });
  assert.throws(() => {
    for (let i = 0; i < 200; i += 1) long.push('data: xxxxxxxxxx');
  }, StreamLimitError);
  const many = createSseParser({ maxEventChars: 1000 });
  assert.throws(() => many.push('data: 0123456789\n'.repeat(100)), /An event is longer than 1000 characters/);
  const fine = createSseParser({ maxEventChars: 1000 });
  assert.deepEqual(fine.push(`data: ${'y'.repeat(900)}\n\n`.repeat(3)).length, 3, 'the bound is per event, not per stream');
});

test('a CRLF split between two pieces ends one line, not two', () => {
  const parser = createSseParser();
  assert.deepEqual([...parser.push('data: a\r'), ...parser.push('\n\r'), ...parser.push('\ndata: b\r\n\r\n')], [
    { event: 'message', data: 'a' },
    { event: 'message', data: 'b' },
  ]);
});
