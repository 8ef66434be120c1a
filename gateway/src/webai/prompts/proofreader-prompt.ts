import type { ProofreaderOptions } from '../webai-apis.js';
import { languageName, type PromptMessage } from './prompt-message.js';

/**
 * The Proofreader's prompt: the model returns the corrected text only; where it changed what is
 * computed afterwards by diffing (see proofread-corrections.ts), never asked of the model.
 *
 * @example
 *   proofreaderPrompt(proofreaderOptionsSchema.parse({}), 'Ths is wrng.');
 */
export function proofreaderPrompt(options: ProofreaderOptions, input: string): PromptMessage[] {
  const language = options.expectedInputLanguages?.[0];
  const rules = [
    `You proofread${language ? ` ${languageName(language)}` : ''} text.`,
    'Correct spelling, grammar, punctuation and capitalization mistakes, and change nothing else: keep the wording, the style and the line breaks.',
    'Answer with the corrected text only. If there is nothing to correct, answer with the text unchanged.',
  ];
  return [
    { role: 'system', content: rules.join(' ') },
    { role: 'user', content: input },
  ];
}
