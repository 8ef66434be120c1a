import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pickOptions } from './page/webai/pick-options.js';

describe('pickOptions', () => {
  it('canonicalizes and deduplicates language tags, nested expected inputs and outputs included', () => {
    const keys = ['outputLanguage', 'expectedInputLanguages', 'expectedInputs', 'expectedOutputs'];
    const picked = pickOptions(
      { outputLanguage: 'EN', expectedInputLanguages: ['EN-us', 'en-US'], expectedInputs: [{ type: 'text', languages: ['JA', 'ja'] }], expectedOutputs: [{ type: 'text' }], extra: 1 },
      keys,
    );
    assert.deepEqual(picked, { outputLanguage: 'en', expectedInputLanguages: ['en-US'], expectedInputs: [{ type: 'text', languages: ['ja'] }], expectedOutputs: [{ type: 'text' }] });
  });

  it('leaves a list with something that is no tag as it came, for the gateway to refuse', () => {
    assert.deepEqual(pickOptions({ expectedInputLanguages: ['en', 'not a tag!'] }, ['expectedInputLanguages']), { expectedInputLanguages: ['en', 'not a tag!'] });
  });
});
