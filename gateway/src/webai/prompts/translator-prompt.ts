import type { TranslatorOptions } from '../webai-apis.js';
import { languageName, type PromptMessage } from './prompt-message.js';

/**
 * The Translator's prompt. The text goes in the user turn alone, so a page's text that looks like
 * an instruction is still only text to translate as far as the prompt can make it.
 *
 * @example
 *   translatorPrompt({ sourceLanguage: 'en', targetLanguage: 'fr' }, 'Good morning');
 */
export function translatorPrompt(options: TranslatorOptions, input: string): PromptMessage[] {
  const from = languageName(options.sourceLanguage);
  const to = languageName(options.targetLanguage);
  return [
    {
      role: 'system',
      content: `You translate from ${from} to ${to}. Translate the user's whole message, and answer with the translation only: no notes, no quotes, no original text.`,
    },
    { role: 'user', content: input },
  ];
}
