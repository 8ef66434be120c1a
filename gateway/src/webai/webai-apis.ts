import { z } from 'zod';

/**
 * The Web Machine Learning group's built-in AI APIs as the gateway serves them: their names in
 * routes, the verb each one answers, and the options each takes (the specs' dictionaries, in the
 * shape the page side sends them). Every schema is strict and bounded: pages are hostile.
 */

export const WEB_AI_APIS = ['language-model', 'summarizer', 'writer', 'rewriter', 'proofreader', 'translator', 'language-detector'] as const;
export const webAiApiSchema = z.enum(WEB_AI_APIS);
export type WebAiApi = z.infer<typeof webAiApiSchema>;

/** The one operation each API performs (`prompt`, `summarize`, …), also the route's last segment. */
export const VERB_OF: Record<WebAiApi, string> = {
  'language-model': 'prompt',
  summarizer: 'summarize',
  writer: 'write',
  rewriter: 'rewrite',
  proofreader: 'proofread',
  translator: 'translate',
  'language-detector': 'detect',
};

/** APIs answered by the LLM (everything but language detection). */
export const LLM_APIS: readonly WebAiApi[] = WEB_AI_APIS.filter((api) => api !== 'language-detector');

/** BCP 47 tags as pages send them; compared by their primary language subtag. */
const languageTag = z.string().trim().min(1).max(35).regex(/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/, 'expected a BCP 47 language tag');
const languageList = z.array(languageTag).max(32);
/** Shared context and per-call context: bounded like inputs (the route checks the total too). */
const contextText = z.string().max(1_000_000);

const writingCommon = {
  sharedContext: contextText.optional(),
  expectedInputLanguages: languageList.optional(),
  expectedContextLanguages: languageList.optional(),
  outputLanguage: languageTag.optional(),
};

export const summarizerOptionsSchema = z.strictObject({
  type: z.enum(['key-points', 'tldr', 'teaser', 'headline']).default('key-points'),
  format: z.enum(['markdown', 'plain-text']).default('markdown'),
  length: z.enum(['short', 'medium', 'long']).default('short'),
  ...writingCommon,
});
export type SummarizerOptions = z.infer<typeof summarizerOptionsSchema>;

export const writerOptionsSchema = z.strictObject({
  tone: z.enum(['formal', 'neutral', 'casual']).default('neutral'),
  format: z.enum(['markdown', 'plain-text']).default('markdown'),
  length: z.enum(['short', 'medium', 'long']).default('short'),
  ...writingCommon,
});
export type WriterOptions = z.infer<typeof writerOptionsSchema>;

export const rewriterOptionsSchema = z.strictObject({
  tone: z.enum(['as-is', 'more-formal', 'more-casual']).default('as-is'),
  format: z.enum(['as-is', 'markdown', 'plain-text']).default('as-is'),
  length: z.enum(['as-is', 'shorter', 'longer']).default('as-is'),
  ...writingCommon,
});
export type RewriterOptions = z.infer<typeof rewriterOptionsSchema>;

export const proofreaderOptionsSchema = z.strictObject({
  includeCorrectionTypes: z.boolean().default(false),
  includeCorrectionExplanations: z.boolean().default(false),
  expectedInputLanguages: languageList.optional(),
  correctionExplanationLanguage: languageTag.optional(),
});
export type ProofreaderOptions = z.infer<typeof proofreaderOptionsSchema>;

export const translatorOptionsSchema = z.strictObject({
  sourceLanguage: languageTag,
  targetLanguage: languageTag,
});
export type TranslatorOptions = z.infer<typeof translatorOptionsSchema>;

export const languageDetectorOptionsSchema = z.strictObject({
  expectedInputLanguages: languageList.optional(),
});
export type LanguageDetectorOptions = z.infer<typeof languageDetectorOptionsSchema>;

/** One piece of a multimodal message: only text is served here (others are NotSupportedError). */
const contentPart = z.strictObject({ type: z.enum(['text', 'image', 'audio']), value: z.unknown() });
export const chatMessageSchema = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.union([z.string().max(1_000_000), z.array(contentPart).max(64)]),
  /** An assistant message the model should continue (prompt-api "prefix"). */
  prefix: z.boolean().optional(),
});
export type ChatMessageInput = z.infer<typeof chatMessageSchema>;

const expectedIo = z.array(z.strictObject({ type: z.enum(['text', 'image', 'audio']), languages: languageList.optional() })).max(8);

export const languageModelOptionsSchema = z.strictObject({
  initialPrompts: z.array(chatMessageSchema).max(256).optional(),
  temperature: z.number().min(0).max(100).optional(),
  topK: z.number().int().min(1).max(10_000).optional(),
  expectedInputs: expectedIo.optional(),
  expectedOutputs: expectedIo.optional(),
});
export type LanguageModelOptions = z.infer<typeof languageModelOptionsSchema>;

export const OPTIONS_SCHEMA = {
  'language-model': languageModelOptionsSchema,
  summarizer: summarizerOptionsSchema,
  writer: writerOptionsSchema,
  rewriter: rewriterOptionsSchema,
  proofreader: proofreaderOptionsSchema,
  translator: translatorOptionsSchema,
  'language-detector': languageDetectorOptionsSchema,
} as const;

/** The options of `api`, parsed (defaults filled in); a page's bad options are a TypeError on its side. */
export type OptionsOf<A extends WebAiApi> = z.infer<(typeof OPTIONS_SCHEMA)[A]>;

/** The primary language subtag, lower-cased: what availability compares (`en-GB` → `en`). */
export function primaryLanguage(tag: string): string {
  return tag.split('-')[0]!.toLowerCase();
}

/**
 * One call's body (measure and the API's verb): the creation `options` again (stateless), the
 * `input` (a string, or for the LanguageModel the turns after `initialPrompts`), the writing
 * APIs' per-call `context`, the Prompt API's `responseConstraint`, and `stream`.
 */
export const webAiCallSchema = z.strictObject({
  options: z.unknown().optional(),
  input: z.union([z.string(), z.array(chatMessageSchema).max(512)]),
  context: z.string().optional(),
  responseConstraint: z.unknown().optional(),
  omitResponseConstraintInput: z.boolean().optional(),
  /** Answer as `text/event-stream` (the `…Streaming()` methods). */
  stream: z.boolean().optional(),
});
export type WebAiCall = z.infer<typeof webAiCallSchema>;
