import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createOutputBudget, createOutputLines, decodeOutputLine } from './worker-output.js';
import { answerHeadOf, createLineSplitter } from './worker-protocol.js';

describe('createOutputBudget', () => {
  it('admits lines up to the line and byte budgets of a window, drops and counts the rest, and reports them when the next window opens', () => {
    const budget = createOutputBudget({ lines: 3, bytes: 100, windowMs: 1000 });
    const admitted = [10, 10, 10, 10, 10].map((size) => budget.admit(size, 0).admitted);
    assert.deepEqual(admitted, [true, true, true, false, false]);
    assert.equal(budget.windowEnd(), 1000);
    const next = budget.admit(90, 1000);
    assert.deepEqual(next, { admitted: true, report: { lines: 2, bytes: 20 } });
    assert.equal(budget.admit(20, 1500).admitted, false, 'over the byte budget');
    assert.deepEqual(budget.takeDropped(), { lines: 1, bytes: 20 });
    assert.equal(budget.takeDropped(), null, 'each drop is reported once');
  });
});

describe('createOutputLines', () => {
  const collect = (maxLineBytes: number, chunks: Buffer[]) => {
    const lines: string[] = [];
    const reader = createOutputLines({ maxLineBytes, onLine: (bytes, cut) => lines.push(decodeOutputLine(bytes, cut)) });
    for (const chunk of chunks) reader.push(chunk);
    reader.end();
    return lines;
  };

  it('splits lines across chunks, drops a trailing CR, and passes on a last line without newline', () => {
    assert.deepEqual(collect(100, [Buffer.from('a\r\nb'), Buffer.from('c\n\nd')]), ['a', 'bc', '', 'd']);
  });

  it('cuts a long line once, at a character boundary, and skips the rest of it up to its newline', () => {
    const long = `${'é'.repeat(10)}`; // 20 bytes
    assert.deepEqual(collect(5, [Buffer.from(`${long}\nok\n`)]), ['éé … [line cut]', 'ok']);
    // The same line arriving a byte at a time: never more than the limit held.
    const bytes = Buffer.from(`${long}${long}\nnext\n`);
    assert.deepEqual(collect(5, [...bytes].map((byte) => Buffer.from([byte]))), ['éé … [line cut]', 'next']);
    // A line that never ends is passed on cut, and nothing more of it.
    assert.deepEqual(collect(4, [Buffer.from('x'.repeat(50)), Buffer.from('x'.repeat(50))]), ['xxxx … [line cut]']);
  });
});

describe('createLineSplitter (answer channel)', () => {
  it('skips an answer over the limit up to its newline, reports its head, and reads the next answer', () => {
    const lines: string[] = [];
    const heads: string[] = [];
    const split = createLineSplitter({ maxLineBytes: 64, onLine: (line) => lines.push(line), onOverflow: (limit, head) => heads.push(`${limit}:${head.toString()}`) });
    const big = `{"type":"result","id":7,"result":"${'x'.repeat(500)}"}`;
    split.push(Buffer.from('{"type":"result","id":6,"result":1}\n'));
    for (let i = 0; i < big.length; i += 50) split.push(Buffer.from(big.slice(i, i + 50)));
    split.push(Buffer.from('\n{"type":"result","id":8,"result":2}\n'));
    assert.deepEqual(lines, ['{"type":"result","id":6,"result":1}', '{"type":"result","id":8,"result":2}']);
    assert.equal(heads.length, 1);
    assert.ok(heads[0]?.startsWith('64:{"type":"result","id":7,'));
  });
});

describe('answerHeadOf', () => {
  it('reads type and id from the start of an answer, in either order, with or without spaces', () => {
    assert.deepEqual(answerHeadOf(Buffer.from('{"type":"result","id":12,"result":"xxx')), { type: 'result', id: 12 });
    assert.deepEqual(answerHeadOf(Buffer.from('{"type": "chunk", "id": 3, "data": [1, 2')), { type: 'chunk', id: 3 });
    assert.deepEqual(answerHeadOf(Buffer.from('{"id": 4, "type": "result", "result": {')), { type: 'result', id: 4 });
    assert.equal(answerHeadOf(Buffer.from('{"result": "xxx')), undefined);
    assert.equal(answerHeadOf(Buffer.from('{"type":"result","id":1')), undefined, 'an id that may go on is not taken');
  });
});
