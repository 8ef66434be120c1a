import type { WriterOptions } from '../webai-apis.js';
import { formatRule, outputLanguageRule, writingTurn, type PromptMessage } from './prompt-message.js';

const TONE_RULE: Record<WriterOptions['tone'], string> = {
  formal: 'Use a formal tone.',
  neutral: 'Use a neutral tone.',
  casual: 'Use a casual tone.',
};

const LENGTH_RULE: Record<WriterOptions['length'], string> = {
  short: 'Keep it short: one paragraph at most.',
  medium: 'Write a medium-length text: about three paragraphs.',
  long: 'Write a long text: five paragraphs or more.',
};

/**
 * The Writer's prompt: writes new text for the page's request (the `input` is a writing task,
 * not text to transform), in the `tone`, `length` and `format` chosen at creation.
 *
 * @example
 *   writerPrompt(writerOptionsSchema.parse({ tone: 'formal' }), 'An email asking for a day off', undefined);
 */
export function writerPrompt(options: WriterOptions, input: string, context: string | undefined): PromptMessage[] {
  const rules = [
    'You write texts on request.',
    TONE_RULE[options.tone],
    LENGTH_RULE[options.length],
    formatRule(options.format),
    ...outputLanguageRule(options.outputLanguage),
    'Answer with the requested text only, without comments about it.',
  ];
  return [
    { role: 'system', content: rules.join(' ') },
    { role: 'user', content: writingTurn('Writing task', input, options.sharedContext, context) },
  ];
}
