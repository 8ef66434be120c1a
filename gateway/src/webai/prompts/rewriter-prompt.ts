import type { RewriterOptions } from '../webai-apis.js';
import { formatRule, outputLanguageRule, writingTurn, type PromptMessage } from './prompt-message.js';

const TONE_RULE: Record<RewriterOptions['tone'], string> = {
  'as-is': 'Keep the tone of the original.',
  'more-formal': 'Make the tone more formal.',
  'more-casual': 'Make the tone more casual.',
};

const LENGTH_RULE: Record<RewriterOptions['length'], string> = {
  'as-is': 'Keep about the same length.',
  shorter: 'Make it shorter.',
  longer: 'Make it longer.',
};

function formatRules(format: RewriterOptions['format']): string[] {
  return format === 'as-is' ? ['Keep the formatting of the original.'] : [formatRule(format)];
}

/**
 * The Rewriter's prompt: the same meaning in another `tone`, `length` or `format`.
 *
 * @example
 *   rewriterPrompt(rewriterOptionsSchema.parse({ tone: 'more-casual' }), 'Dear Sir, …', undefined);
 */
export function rewriterPrompt(options: RewriterOptions, input: string, context: string | undefined): PromptMessage[] {
  const rules = [
    'You rewrite texts, keeping their meaning.',
    TONE_RULE[options.tone],
    LENGTH_RULE[options.length],
    ...formatRules(options.format),
    ...outputLanguageRule(options.outputLanguage),
    'Answer with the rewritten text only.',
  ];
  return [
    { role: 'system', content: rules.join(' ') },
    { role: 'user', content: writingTurn('Text to rewrite', input, options.sharedContext, context) },
  ];
}
