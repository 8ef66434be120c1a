import { ApiError } from '../api/api-error.js';

const REDACTED = '[redacted]';

/** Shorter secrets are not hidden: replacing every "abc" in a message would garble it and hide nothing. */
const MIN_SECRET_CHARS = 4;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The spellings a key takes when a server echoes the request back: as sent, JSON-escaped (an echo
 * of the headers as JSON, or our own excerpt of a JSON answer) and URL-encoded.
 */
function keyForms(key: string): string[] {
  const json = JSON.stringify(key).slice(1, -1);
  // PHP's json_encode escapes "/" too.
  return [...new Set([key, json, json.replaceAll('/', '\\/'), encodeURIComponent(key)])].filter((form) => form.length >= MIN_SECRET_CHARS);
}

/** Where the relay may have cut a text: before each "…", and at its end. */
function cutPoints(text: string): number[] {
  const cuts: number[] = [];
  for (let at = text.indexOf('…'); at !== -1; at = text.indexOf('…', at + 1)) cuts.push(at);
  cuts.push(text.length);
  return cuts;
}

/** The longest start of a form (shorter than the form, at least MIN_SECRET_CHARS) that `text` has just before `cut`. */
function cutKeyLength(text: string, cut: number, forms: string[]): number {
  let longest = 0;
  for (const form of forms) {
    for (let length = Math.min(form.length - 1, cut); length >= MIN_SECRET_CHARS && length > longest; length -= 1) {
      if (text.startsWith(form.slice(0, length), cut - length)) {
        longest = length;
        break;
      }
    }
  }
  return longest;
}

/**
 * Hides the cloud key in a text built from what the cloud server sent: every spelling of it, with
 * the `Bearer ` in front when there is one, and a start of it that runs into a cut (the relay
 * shortens the server's words to 500 characters, "…", and excerpts of answers to 300: a cut inside
 * the key would otherwise leave its first part in the message).
 *
 * @example
 *   hideKey('echo: {"authorization":"Bearer sk-abc123"}', 'sk-abc123'); // → 'echo: {"authorization":"[redacted]"}'
 *   hideKey('…headers: Bearer sk-ab…', 'sk-abc123');                  // → '…headers: [redacted]…'
 */
export function hideKey(text: string, key: string | null | undefined): string {
  if (!key) return text;
  const forms = keyForms(key);
  if (forms.length === 0) return text;
  // Longest first, so a spelling that contains another is hidden whole.
  const alternatives = [...forms].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|');
  let hidden = text.replace(new RegExp(`(?:bearer\\s+)?(?:${alternatives})`, 'gi'), REDACTED);
  // The last cut first, so that the places of the earlier ones stay where they were.
  for (const cut of cutPoints(hidden).reverse()) {
    const length = cutKeyLength(hidden, cut, forms);
    if (length === 0) continue;
    const bearer = /bearer\s+$/i.exec(hidden.slice(0, cut - length));
    hidden = `${hidden.slice(0, cut - length - (bearer?.[0].length ?? 0))}${REDACTED}${hidden.slice(cut)}`;
  }
  return hidden;
}

/**
 * The same error with the key hidden in its message: the one place every error leaving the relay
 * passes, so a message built from upstream content (an error body, a non-JSON answer, a stream's
 * error event, an excerpt of a malformed answer) cannot carry the key to a caller, whichever path
 * built it.
 */
export function hideKeyInError(error: unknown, key: string | null | undefined): unknown {
  if (!key || !(error instanceof Error)) return error;
  const message = hideKey(error.message, key);
  if (message === error.message) return error;
  if (error instanceof ApiError) return new ApiError(error.status, error.code, message);
  error.message = message;
  return error;
}
