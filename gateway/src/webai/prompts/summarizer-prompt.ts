import type { SummarizerOptions } from '../webai-apis.js';
import { formatRule, outputLanguageRule, writingTurn, type PromptMessage } from './prompt-message.js';

/** What each summary type is, in the writing-assistance spec's words. */
const TYPE_RULE: Record<SummarizerOptions['type'], string> = {
  tldr: 'Write a short, to-the-point overview of the text, for a busy reader.',
  teaser: 'Write a teaser: focus on the most interesting or intriguing parts of the text, to draw the reader in to read it all.',
  'key-points': 'Extract the most important points of the text, as a bulleted list.',
  headline: 'Write a headline that carries the main point of the text in a single sentence, in the style of an article headline.',
};

/** The spec's lengths: sentences for tl;dr and teasers, bullets for key points, words for headlines. */
const LENGTH_RULE: Record<SummarizerOptions['type'], Record<SummarizerOptions['length'], string>> = {
  tldr: { short: 'Use one sentence.', medium: 'Use three sentences.', long: 'Use five sentences.' },
  teaser: { short: 'Use one sentence.', medium: 'Use three sentences.', long: 'Use five sentences.' },
  'key-points': { short: 'Give three bullet points.', medium: 'Give five bullet points.', long: 'Give seven bullet points.' },
  headline: { short: 'Use at most 12 words.', medium: 'Use at most 17 words.', long: 'Use at most 22 words.' },
};

/** Bullets in plain text still need a marker; Markdown ones are Markdown's. */
function bulletRule(options: SummarizerOptions): string[] {
  if (options.type !== 'key-points') return [];
  return [options.format === 'markdown' ? 'Start each point with "- ".' : 'Put each point on its own line, starting with "- ".'];
}

/**
 * The Summarizer's prompt: `type`, `length`, `format`, `outputLanguage` and `sharedContext` from
 * creation, `context` from the call.
 *
 * @example
 *   summarizerPrompt(summarizerOptionsSchema.parse({ type: 'tldr' }), articleText, undefined);
 */
export function summarizerPrompt(options: SummarizerOptions, input: string, context: string | undefined): PromptMessage[] {
  const rules = [
    'You summarize texts.',
    TYPE_RULE[options.type],
    LENGTH_RULE[options.type][options.length],
    ...bulletRule(options),
    formatRule(options.format),
    ...outputLanguageRule(options.outputLanguage),
    'Answer with the summary only, without an introduction or a title.',
  ];
  return [
    { role: 'system', content: rules.join(' ') },
    { role: 'user', content: writingTurn('Text to summarize', input, options.sharedContext, context) },
  ];
}
