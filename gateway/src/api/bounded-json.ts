/**
 * JSON from pages and sockets, held to a nesting depth before it is parsed. V8 parses any depth,
 * but serializing is recursive: a 12 KB message of 6,000 nested arrays parsed fine and then blew
 * the stack wherever the gateway wrote it back out (a socket's pong, a worker's request), and a
 * stack overflow in a socket's message handler ended the whole process. No honest payload comes
 * near the limit.
 */
export const MAX_JSON_DEPTH = 128;

export type BoundedJson = { ok: true; value: unknown } | { ok: false; problem: 'not_json' | 'too_deep' };

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Whether `text` opens more than `max` objects or arrays inside one another; one pass, nothing allocated. */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === BACKSLASH) i += 1;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) {
      inString = true;
    } else if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      depth += 1;
      if (depth > max) return true;
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) {
      depth -= 1;
    }
  }
  return false;
}

/** Parses JSON that nests at most `maxDepth` levels. */
export function parseBoundedJson(text: string, maxDepth = MAX_JSON_DEPTH): BoundedJson {
  if (nestsDeeperThan(text, maxDepth)) return { ok: false, problem: 'too_deep' };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, problem: 'not_json' };
  }
}
