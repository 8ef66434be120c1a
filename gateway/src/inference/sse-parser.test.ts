import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSseParser } from './sse-parser.js';

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
