/**
 * Says where a text stops being JSON without quoting it. V8's own messages quote the text around
 * the mistake (`Unexpected token 'r', "root:x:0:0"... is not valid JSON`), and a manifest's errors
 * go to the log and to `GET /api/plugins`: a file that is not JSON must not be shown there.
 */

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;
const SIMPLE_ESCAPES = '"\\/bfnrt';
const LITERALS: Record<string, string> = { t: 'true', f: 'false', n: 'null' };

/** End of the string that opens at `start` (just past its closing quote), or the offset of its first fault as `-1 - offset`. */
function scanString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code === 0x22) return i + 1;
    if (code < 0x20) return -1 - i;
    if (code !== 0x5c) {
      i += 1;
      continue;
    }
    const escape = text[i + 1];
    if (escape === 'u') {
      if (!HEX4.test(text.slice(i + 2, i + 6))) return -1 - (i + 1);
      i += 6;
    } else if (escape !== undefined && SIMPLE_ESCAPES.includes(escape)) {
      i += 2;
    } else {
      return -1 - (i + 1);
    }
  }
  return -1 - i;
}

/**
 * The offset of the first character at which `text` stops being JSON (`text.length` when it ends
 * too early), or null when it is JSON. An explicit stack rather than recursion: a deeply nested
 * file must not overflow the call stack.
 */
export function jsonErrorOffset(text: string): number | null {
  const open: Array<'{' | '['> = [];
  let expect: 'value' | 'key' | 'after' = 'value';
  let i = 0;
  for (;;) {
    while (i < text.length && WHITESPACE.has(text[i]!)) i += 1;
    const char = text[i];
    if (expect === 'key') {
      if (char !== '"') return i;
      const end = scanString(text, i);
      if (end < 0) return -1 - end;
      i = end;
      while (i < text.length && WHITESPACE.has(text[i]!)) i += 1;
      if (text[i] !== ':') return i;
      i += 1;
      expect = 'value';
      continue;
    }
    if (expect === 'after') {
      const top = open.at(-1);
      if (!top) return i === text.length ? null : i;
      if (char === ',') {
        i += 1;
        expect = top === '{' ? 'key' : 'value';
      } else if (char === (top === '{' ? '}' : ']')) {
        i += 1;
        open.pop();
      } else {
        return i;
      }
      continue;
    }
    // A value.
    if (char === '{' || char === '[') {
      open.push(char);
      i += 1;
      while (i < text.length && WHITESPACE.has(text[i]!)) i += 1;
      if (text[i] === (char === '{' ? '}' : ']')) {
        i += 1;
        open.pop();
        expect = 'after';
      } else {
        expect = char === '{' ? 'key' : 'value';
      }
      continue;
    }
    if (char === '"') {
      const end = scanString(text, i);
      if (end < 0) return -1 - end;
      i = end;
      expect = 'after';
      continue;
    }
    const literal = char === undefined ? undefined : LITERALS[char];
    if (literal) {
      let matched = 0;
      while (matched < literal.length && text[i + matched] === literal[matched]) matched += 1;
      if (matched < literal.length) return i + matched;
      i += literal.length;
      expect = 'after';
      continue;
    }
    NUMBER.lastIndex = i;
    if (!NUMBER.test(text)) return i;
    i = NUMBER.lastIndex;
    expect = 'after';
  }
}

/** 1-based line and column of `offset`, as editors count them. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: offset - lineStart + 1 };
}

/**
 * V8's reason without any of the text: its position is given separately, and a message that
 * quotes the text (`Unexpected token 'r', "root:x:0:0"...`) or names the character is replaced.
 */
function reasonOf(message: string): string {
  const reason = message.replace(/ (?:in|after) JSON at position \d+.*$/s, '');
  return /"|^Unexpected token/.test(reason) ? 'unexpected character' : reason;
}

/**
 * "invalid JSON at line 1, column 1 (unexpected character)": where parsing failed and why, never
 * what the bytes are.
 *
 * @example
 *   try { JSON.parse(text) } catch (error) { problems.push(`manifest.json: ${describeJsonError(text, error as Error)}`) }
 */
export function describeJsonError(text: string, error: Error): string {
  const reason = reasonOf(error.message);
  const offset = jsonErrorOffset(text) ?? Number(/ at position (\d+)/.exec(error.message)?.[1] ?? Number.NaN);
  if (!Number.isFinite(offset)) return `invalid JSON (${reason})`;
  const { line, column } = lineAndColumn(text, offset);
  return `invalid JSON at line ${line}, column ${column} (${offset >= text.length ? 'the text ends before the JSON does' : reason})`;
}
