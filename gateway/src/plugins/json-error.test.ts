import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { describeJsonError, jsonErrorOffset } from './json-error.js';

const parseError = (text: string): Error => {
  try {
    JSON.parse(text);
  } catch (error) {
    return error as Error;
  }
  throw new Error(`${text} is JSON`);
};

describe('jsonErrorOffset', () => {
  it('agrees with JSON.parse on what is JSON, for any text and any JSON value', () => {
    const agrees = (text: string) => {
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      return (jsonErrorOffset(text) === null) === valid;
    };
    fc.assert(fc.property(fc.string(), agrees), { numRuns: 2000 });
    fc.assert(fc.property(fc.json(), agrees), { numRuns: 2000 });
    // A JSON value with one character changed or cut short.
    fc.assert(
      fc.property(fc.json(), fc.nat(), fc.constantFrom('', '"', '{', ']', ',', ':', 'x', '\n', '\\', '-'), (json, at, insert) => {
        const position = at % (json.length + 1);
        return agrees(json.slice(0, position) + insert + json.slice(position + 1)) && agrees(json.slice(0, position));
      }),
      { numRuns: 3000 },
    );
  });

  it('points at the first character that is wrong, or at the end when the text stops early', () => {
    assert.equal(jsonErrorOffset('root:x:0:0'), 0);
    assert.equal(jsonErrorOffset('{"a": tru}'), 9);
    assert.equal(jsonErrorOffset('{"a": 1,}'), 8);
    assert.equal(jsonErrorOffset('[1, 2'), 5);
    assert.equal(jsonErrorOffset('"a\\qb"'), 3);
    assert.equal(jsonErrorOffset('{} x'), 3);
  });

  it('scans a deeply nested text without overflowing the stack', () => {
    assert.equal(jsonErrorOffset('['.repeat(1_000_000)), 1_000_000);
  });
});

describe('describeJsonError', () => {
  it('gives line and column and the reason, and none of the text', () => {
    const text = 'root:x:0:0:root:/root:/bin/bash';
    const message = describeJsonError(text, parseError(text));
    assert.equal(message, 'invalid JSON at line 1, column 1 (unexpected character)');
    assert.equal(describeJsonError('{\n "a": 1\n "b": 2}', parseError('{\n "a": 1\n "b": 2}')), "invalid JSON at line 3, column 2 (Expected ',' or '}' after property value)");
    // V8 says "after JSON at position 3" here: the position is given once, as line and column.
    assert.equal(describeJsonError('{}\nx', parseError('{}\nx')), 'invalid JSON at line 2, column 1 (Unexpected non-whitespace character)');
  });
});
