/**
 * What every prompt builder returns: chat messages in the OpenAI shape, which both the local
 * model (through its chat template) and the cloud relay take as they are. The builders are pure
 * functions of the API's options and the page's input, so each is tested alone.
 */
export interface PromptMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
  /** An assistant message the model continues rather than answers (prompt-api `prefix`). */
  prefix?: boolean;
}

// Made on first use: building it loads ICU's language names, which most gateway runs never need.
let names: Intl.DisplayNames | undefined;

/** "French" for `fr`, "British English" for `en-GB`; the tag itself when Intl does not know it. */
export function languageName(tag: string): string {
  try {
    names ??= new Intl.DisplayNames(['en'], { type: 'language', fallback: 'code' });
    return names.of(tag) ?? tag;
  } catch {
    return tag;
  }
}

/** The instruction that fixes the answer's language, when the page asked for one. */
export function outputLanguageRule(tag: string | undefined): string[] {
  return tag ? [`Write the answer in ${languageName(tag)}.`] : [];
}

/** "Do not use Markdown" or "use Markdown", as the writing-assistance specs' `format` asks. */
export function formatRule(format: 'markdown' | 'plain-text'): string {
  return format === 'markdown' ? 'Format the answer as Markdown.' : 'Write plain text only: no Markdown, no HTML.';
}

/**
 * The user turn of the writing-assistance APIs: the shared context (set at creation), this call's
 * context, then the input, each clearly delimited so the model does not take context for input.
 */
export function writingTurn(label: string, input: string, sharedContext: string | undefined, context: string | undefined): string {
  const parts: string[] = [];
  if (sharedContext?.trim()) parts.push(`Background (shared context):\n${sharedContext.trim()}`);
  if (context?.trim()) parts.push(`Background (for this request):\n${context.trim()}`);
  parts.push(`${label}:\n${input}`);
  return parts.join('\n\n');
}
