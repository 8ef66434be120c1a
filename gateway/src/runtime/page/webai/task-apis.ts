import type { TaskApiSpec } from './task-api.js';

/**
 * The task APIs of the writing-assistance and translation specs, as data for `defineTaskApi`:
 * their options, attributes (with the specs' defaults) and methods.
 */
const WRITING_LANGUAGES = { expectedInputLanguages: null, expectedContextLanguages: null, outputLanguage: null } as const;
const WRITING_KEYS = ['sharedContext', 'expectedInputLanguages', 'expectedContextLanguages', 'outputLanguage'] as const;

export const TASK_APIS: readonly TaskApiSpec[] = [
  {
    name: 'Summarizer',
    route: 'summarizer',
    verb: 'summarize',
    streaming: 'summarizeStreaming',
    optionKeys: ['type', 'format', 'length', ...WRITING_KEYS],
    attributes: { sharedContext: '', type: 'key-points', format: 'markdown', length: 'short', ...WRITING_LANGUAGES },
    callKeys: ['context'],
    blankAnswer: '',
  },
  {
    name: 'Writer',
    route: 'writer',
    verb: 'write',
    streaming: 'writeStreaming',
    optionKeys: ['tone', 'format', 'length', ...WRITING_KEYS],
    attributes: { sharedContext: '', tone: 'neutral', format: 'markdown', length: 'short', ...WRITING_LANGUAGES },
    callKeys: ['context'],
  },
  {
    name: 'Rewriter',
    route: 'rewriter',
    verb: 'rewrite',
    streaming: 'rewriteStreaming',
    optionKeys: ['tone', 'format', 'length', ...WRITING_KEYS],
    attributes: { sharedContext: '', tone: 'as-is', format: 'as-is', length: 'as-is', ...WRITING_LANGUAGES },
    callKeys: ['context'],
    blankAnswer: '',
  },
  {
    name: 'Proofreader',
    route: 'proofreader',
    verb: 'proofread',
    optionKeys: ['includeCorrectionTypes', 'includeCorrectionExplanations', 'expectedInputLanguages', 'correctionExplanationLanguage'],
    attributes: { includeCorrectionTypes: false, includeCorrectionExplanations: false, expectedInputLanguages: null, correctionExplanationLanguage: null },
    callKeys: [],
  },
  {
    name: 'Translator',
    route: 'translator',
    verb: 'translate',
    streaming: 'translateStreaming',
    optionKeys: ['sourceLanguage', 'targetLanguage'],
    attributes: { sourceLanguage: null, targetLanguage: null },
    callKeys: [],
    blankAnswer: '',
  },
  {
    name: 'LanguageDetector',
    route: 'language-detector',
    verb: 'detect',
    optionKeys: ['expectedInputLanguages'],
    attributes: { expectedInputLanguages: null },
    callKeys: [],
    resultOf: (answer) => (answer as { results: unknown }).results,
  },
];
