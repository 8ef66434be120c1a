import { primaryLanguage, type OptionsOf, type WebAiApi } from './webai-apis.js';

/**
 * Whether the served model can do what the options ask — the part of `availability()` that does
 * not depend on downloads: languages (the model's, from `webai.languages`, or the language
 * detector's own list), modalities, and features this implementation does not have. Returns why
 * not, or null. Pure: tested alone, used by availability() and again by every call.
 */
export function unsupportedReason<A extends WebAiApi>(api: A, options: OptionsOf<A>, languages: { llm: readonly string[]; detector: readonly string[] | null }): string | null {
  const llmKnows = (tags: readonly string[] | undefined, what: string) => {
    const unknown = (tags ?? []).find((tag) => !languages.llm.includes(primaryLanguage(tag)));
    return unknown ? `the local model does not handle ${what} "${unknown}"` : null;
  };
  switch (api) {
    case 'translator': {
      const { sourceLanguage, targetLanguage } = options as OptionsOf<'translator'>;
      return llmKnows([sourceLanguage, targetLanguage], 'the language');
    }
    case 'summarizer':
    case 'writer':
    case 'rewriter': {
      const writing = options as OptionsOf<'summarizer'>;
      return (
        llmKnows(writing.expectedInputLanguages, 'input language') ??
        llmKnows(writing.expectedContextLanguages, 'context language') ??
        llmKnows(writing.outputLanguage ? [writing.outputLanguage] : [], 'output language')
      );
    }
    case 'proofreader': {
      const proofreader = options as OptionsOf<'proofreader'>;
      if (proofreader.includeCorrectionExplanations) return 'correction explanations are not provided here';
      return llmKnows(proofreader.expectedInputLanguages, 'input language');
    }
    case 'language-model': {
      const model = options as OptionsOf<'language-model'>;
      const io = [...(model.expectedInputs ?? []), ...(model.expectedOutputs ?? [])];
      const media = io.find((entry) => entry.type !== 'text');
      if (media) return `${media.type} is not supported here (text only)`;
      return llmKnows(io.flatMap((entry) => entry.languages ?? []), 'language');
    }
    case 'language-detector': {
      const expected = (options as OptionsOf<'language-detector'>).expectedInputLanguages ?? [];
      // Before the detector has loaded its list, only a download can tell: create() checks again.
      if (!languages.detector) return null;
      const unknown = expected.find((tag) => !languages.detector!.includes(primaryLanguage(tag)));
      return unknown ? `the language detector does not know "${unknown}"` : null;
    }
  }
  return null;
}
