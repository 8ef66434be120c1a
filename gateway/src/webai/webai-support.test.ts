import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OPTIONS_SCHEMA, type WebAiApi } from './webai-apis.js';
import { unsupportedReason } from './webai-support.js';

const languages = { llm: ['en', 'fr', 'ja'], detector: ['en', 'fr', 'de'] };
const reason = (api: WebAiApi, options: object, detector: string[] | null = languages.detector) =>
  unsupportedReason(api, OPTIONS_SCHEMA[api].parse(options) as never, { llm: languages.llm, detector });

describe('unsupportedReason', () => {
  it('admits translation between the model languages only, by primary subtag', () => {
    assert.equal(reason('translator', { sourceLanguage: 'en-GB', targetLanguage: 'fr' }), null);
    assert.match(reason('translator', { sourceLanguage: 'en', targetLanguage: 'sw' }) ?? '', /"sw"/);
  });

  it('checks the writing APIs input, context and output languages', () => {
    assert.equal(reason('summarizer', { expectedInputLanguages: ['ja'], outputLanguage: 'en' }), null);
    assert.match(reason('writer', { outputLanguage: 'de' }) ?? '', /output language "de"/);
    assert.match(reason('rewriter', { expectedContextLanguages: ['xx'] }) ?? '', /context language/);
  });

  it('says what the proofreader and the language model cannot do', () => {
    assert.match(reason('proofreader', { includeCorrectionExplanations: true }) ?? '', /explanations/);
    assert.equal(reason('proofreader', { includeCorrectionTypes: true }), null);
    assert.match(reason('language-model', { expectedInputs: [{ type: 'image' }] }) ?? '', /image/);
    assert.match(reason('language-model', { expectedOutputs: [{ type: 'text', languages: ['ko'] }] }) ?? '', /"ko"/);
  });

  it('checks the detector languages once they are known', () => {
    assert.equal(reason('language-detector', { expectedInputLanguages: ['de'] }), null);
    assert.match(reason('language-detector', { expectedInputLanguages: ['tlh'] }) ?? '', /"tlh"/);
    assert.equal(reason('language-detector', { expectedInputLanguages: ['tlh'] }, null), null);
  });
});
