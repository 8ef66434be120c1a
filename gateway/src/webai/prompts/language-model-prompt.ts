import type { ChatMessageInput, LanguageModelOptions } from '../webai-apis.js';
import { webAiError } from '../webai-errors.js';
import type { PromptMessage } from './prompt-message.js';

/** The Prompt API's `params()`: sampling defaults and the most a page may ask for. */
export const LANGUAGE_MODEL_PARAMS = { defaultTopK: 3, maxTopK: 128, defaultTemperature: 1, maxTemperature: 2 } as const;

/** A per-call response constraint (`responseConstraint`), a JSON schema, and whether to tell the model about it. */
export interface ResponseConstraint {
  schema: unknown;
  omitFromInput: boolean;
}

/** The sampling one session runs with: the page's choice within the limits, else the defaults. */
export function samplingOf(options: LanguageModelOptions): { temperature: number; topK: number } {
  if ((options.temperature === undefined) !== (options.topK === undefined)) {
    throw webAiError('webai_not_supported', 'LanguageModel: give both topK and temperature, or neither');
  }
  return {
    temperature: Math.min(options.temperature ?? LANGUAGE_MODEL_PARAMS.defaultTemperature, LANGUAGE_MODEL_PARAMS.maxTemperature),
    topK: Math.min(options.topK ?? LANGUAGE_MODEL_PARAMS.defaultTopK, LANGUAGE_MODEL_PARAMS.maxTopK),
  };
}

/** Only text goes in and out here: an image or audio input (or output) is NotSupportedError. */
export function checkModalities(options: LanguageModelOptions): void {
  const other = [...(options.expectedInputs ?? []), ...(options.expectedOutputs ?? [])].find((io) => io.type !== 'text');
  if (other) throw webAiError('webai_not_supported', `LanguageModel: ${other.type} is not supported here (text only)`);
}

function textOf(message: ChatMessageInput): string {
  if (typeof message.content === 'string') return message.content;
  return message.content
    .map((part) => {
      if (part.type !== 'text' || typeof part.value !== 'string') throw webAiError('webai_not_supported', `LanguageModel: ${part.type} content is not supported here (text only)`);
      return part.value;
    })
    .join('');
}

/**
 * Messages as the Prompt API takes them (its "validate and canonicalize" steps): a system message
 * only first, a prefix only on the last message, an assistant one; otherwise a SyntaxError.
 */
function conversation(all: ChatMessageInput[]): PromptMessage[] {
  return all.map((message, index) => {
    if (message.role === 'system' && index !== 0) throw webAiError('webai_bad_conversation', 'LanguageModel: a system message may only come first, in initialPrompts');
    if (message.prefix && (index !== all.length - 1 || message.role !== 'assistant')) throw webAiError('webai_bad_conversation', 'LanguageModel: only the last message, an assistant one, may be a prefix');
    return { role: message.role, content: textOf(message), ...(message.prefix ? { prefix: true } : {}) };
  });
}

/**
 * A session's `initialPrompts` as `create()` checks them before the session exists (the spec
 * refuses a malformed or over-quota start there, not at the first prompt): empty when there are none.
 */
export function initialConversation(options: LanguageModelOptions): PromptMessage[] {
  checkModalities(options);
  return conversation(options.initialPrompts ?? []);
}

/**
 * The Prompt API's messages for one `prompt()`: the session's `initialPrompts` (a system prompt
 * only first), then the turns the page kept (stateless: it sends its whole history every time),
 * the last one being the new input. With a `responseConstraint` the schema is appended to the
 * last user turn unless the page asked to omit it (the model is held to it by a grammar anyway).
 *
 * @example
 *   languageModelPrompt({ initialPrompts: [{ role: 'system', content: 'Be brief.' }] }, [{ role: 'user', content: 'Hi' }]);
 */
export function languageModelPrompt(options: LanguageModelOptions, turns: ChatMessageInput[], constraint?: ResponseConstraint): PromptMessage[] {
  checkModalities(options);
  if (turns.length === 0) throw webAiError('webai_bad_conversation', 'LanguageModel: prompt() needs an input');
  const messages = conversation([...(options.initialPrompts ?? []), ...turns]);
  if (constraint && !constraint.omitFromInput) {
    const lastUser = messages.findLastIndex((message) => message.role === 'user');
    const target = messages[lastUser];
    if (target) messages[lastUser] = { ...target, content: `${target.content}\n\nRespond with JSON that matches this JSON schema:\n${JSON.stringify(constraint.schema)}` };
  }
  return messages;
}
