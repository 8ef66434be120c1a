import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { proofreaderOptionsSchema } from '../webai-apis.js';
import { proofreaderPrompt } from './proofreader-prompt.js';

describe('proofreaderPrompt', () => {
  it('asks for the corrected text only, in the expected language', () => {
    const [system, user] = proofreaderPrompt(proofreaderOptionsSchema.parse({ expectedInputLanguages: ['de'] }), 'Das ist falsh.');
    assert.match(system!.content, /proofread German text/);
    assert.match(system!.content, /corrected text only/);
    assert.deepEqual(user, { role: 'user', content: 'Das ist falsh.' });
  });
});
