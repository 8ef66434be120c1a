import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../api/api-error.js';
import { initialConversation, LANGUAGE_MODEL_PARAMS, languageModelPrompt, samplingOf } from './language-model-prompt.js';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof ApiError ? error.code : 'other';
  }
  return null;
};

describe('languageModelPrompt', () => {
  it('puts initial prompts first, then the turns the page kept', () => {
    const messages = languageModelPrompt({ initialPrompts: [{ role: 'system', content: 'Be brief.' }] }, [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: [{ type: 'text', value: 'How ' }, { type: 'text', value: 'are you?' }] },
    ]);
    assert.deepEqual(messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'How are you?' },
    ]);
  });

  it('refuses images and audio (NotSupportedError) and an empty input or misplaced system or prefix messages (SyntaxError, as the Prompt API says)', () => {
    assert.equal(code(() => languageModelPrompt({}, [{ role: 'user', content: [{ type: 'image', value: 'x' }] }])), 'webai_not_supported');
    assert.equal(code(() => languageModelPrompt({ expectedInputs: [{ type: 'audio' }] }, [{ role: 'user', content: 'x' }])), 'webai_not_supported');
    assert.equal(code(() => languageModelPrompt({}, [{ role: 'user', content: 'a' }, { role: 'system', content: 'b' }])), 'webai_bad_conversation');
    assert.equal(code(() => languageModelPrompt({}, [{ role: 'assistant', content: 'a', prefix: true }, { role: 'user', content: 'b' }])), 'webai_bad_conversation');
    assert.equal(code(() => languageModelPrompt({}, [{ role: 'user', content: 'a', prefix: true }])), 'webai_bad_conversation');
    assert.equal(code(() => languageModelPrompt({}, [])), 'webai_bad_conversation');
  });

  it('checks initialPrompts on their own, as create() does: the same rules, and none is no conversation to check', () => {
    assert.deepEqual(initialConversation({}), []);
    assert.equal(code(() => initialConversation({ initialPrompts: [{ role: 'user', content: 'a' }, { role: 'system', content: 'b' }] })), 'webai_bad_conversation');
    assert.equal(code(() => initialConversation({ initialPrompts: [{ role: 'user', content: 'a', prefix: true }] })), 'webai_bad_conversation');
    assert.deepEqual(initialConversation({ initialPrompts: [{ role: 'system', content: 'Be brief.' }] }), [{ role: 'system', content: 'Be brief.' }]);
  });

  it('keeps a final assistant prefix for the model to continue', () => {
    const messages = languageModelPrompt({}, [{ role: 'user', content: 'Count' }, { role: 'assistant', content: '1, 2,', prefix: true }]);
    assert.deepEqual(messages.at(-1), { role: 'assistant', content: '1, 2,', prefix: true });
  });

  it('tells the model about a response constraint unless asked not to', () => {
    const schema = { type: 'object', properties: { ok: { type: 'boolean' } } };
    const told = languageModelPrompt({}, [{ role: 'user', content: 'Is it?' }], { schema, omitFromInput: false });
    assert.match(told.at(-1)!.content, /JSON schema:\n\{"type":"object"/);
    const silent = languageModelPrompt({}, [{ role: 'user', content: 'Is it?' }], { schema, omitFromInput: true });
    assert.equal(silent.at(-1)!.content, 'Is it?');
  });

  it('samples within the limits, both knobs or neither', () => {
    assert.deepEqual(samplingOf({}), { temperature: LANGUAGE_MODEL_PARAMS.defaultTemperature, topK: LANGUAGE_MODEL_PARAMS.defaultTopK });
    assert.deepEqual(samplingOf({ temperature: 50, topK: 5000 }), { temperature: LANGUAGE_MODEL_PARAMS.maxTemperature, topK: LANGUAGE_MODEL_PARAMS.maxTopK });
    assert.equal(code(() => samplingOf({ temperature: 0.5 })), 'webai_not_supported');
  });
});
