import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { correctionType, proofreadCorrections } from './proofread-corrections.js';

/** Applying the corrections to the input must give the corrected text back: the spec's invariant. */
function apply(input: string, corrections: Array<{ startIndex: number; endIndex: number; correction: string }>): string {
  let out = '';
  let at = 0;
  for (const c of corrections) {
    out += input.slice(at, c.startIndex) + c.correction;
    at = c.endIndex;
  }
  return out + input.slice(at);
}

describe('proofreadCorrections', () => {
  it('finds each corrected word with its input offsets', () => {
    const input = 'Ths is wrng.';
    const corrections = proofreadCorrections(input, 'This is wrong.');
    assert.deepEqual(corrections, [
      { startIndex: 0, endIndex: 3, correction: 'This' },
      { startIndex: 7, endIndex: 11, correction: 'wrong' },
    ]);
  });

  it('reports insertions and deletions as empty ranges and empty corrections', () => {
    const input = 'I went store yesterday yesterday.';
    const corrected = 'I went to the store yesterday.';
    const corrections = proofreadCorrections(input, corrected);
    assert.equal(apply(input, corrections), corrected);
    assert.ok(corrections.some((c) => c.startIndex === c.endIndex), 'an insertion is an empty range');
  });

  it('gives nothing for an unchanged text, and round-trips random edits', () => {
    assert.deepEqual(proofreadCorrections('All fine here.', 'All fine here.'), []);
    const words = ['alpha', 'beta', 'gamma', 'delta', ',', '.', 'Epsilon'];
    for (let round = 0; round < 200; round += 1) {
      const pick = () => Array.from({ length: 1 + Math.floor(Math.random() * 12) }, () => words[Math.floor(Math.random() * words.length)]).join(' ');
      const input = pick();
      const corrected = pick();
      assert.equal(apply(input, proofreadCorrections(input, corrected)), corrected, `${input} → ${corrected}`);
    }
  });

  it('stays bounded for a wholly different answer (one correction past the edit bound)', () => {
    const input = Array.from({ length: 5000 }, (_, i) => `w${i}`).join(' ');
    const corrected = Array.from({ length: 5000 }, (_, i) => `x${i}`).join(' ');
    const corrections = proofreadCorrections(input, corrected, { maxEdits: 50 });
    assert.equal(corrections.length, 1);
    assert.equal(apply(input, corrections), corrected);
  });

  it('guesses correction types', () => {
    assert.equal(correctionType('paris', 'Paris'), 'capitalization');
    assert.equal(correctionType('', 'the '), 'missing-words');
    assert.equal(correctionType('wrng', 'wrong'), 'spelling');
    assert.equal(correctionType('Hello world', 'Hello, world'), 'punctuation');
    assert.equal(correctionType('he go', 'he goes'), 'grammar');
    assert.deepEqual(proofreadCorrections('ths', 'this', { withTypes: true })[0]?.types, ['spelling']);
  });
});
