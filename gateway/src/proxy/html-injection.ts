/**
 * Finding where to inject, working on raw bytes. Every charset we must keep byte-identical
 * (UTF-8, EUC-KR, Shift_JIS, GBK, ISO-8859-1) is ASCII-compatible for the bytes that matter here
 * ("<", ">", quotes, letters of tag names never occur as trail bytes below 0x40), so reading the
 * bytes as latin1 gives one character per byte and offsets that are byte offsets.
 */

const UTF8_BOM = [0xef, 0xbb, 0xbf];

/** Pages in UTF-16/32 cannot take ASCII markup without corrupting them. */
export function isAsciiIncompatible(prefix: Uint8Array, contentType: string | undefined): boolean {
  if (/charset\s*=\s*"?utf-(16|32)/i.test(contentType ?? '')) return true;
  const [a, b] = prefix;
  return (a === 0xfe && b === 0xff) || (a === 0xff && b === 0xfe);
}

function skipSpace(text: string, at: number): number {
  while (at < text.length && /\s/.test(text[at] ?? '')) at += 1;
  return at;
}

/** End (exclusive) of a tag starting at `at`, honouring quoted attribute values; -1 if unfinished. */
function tagEnd(text: string, at: number): number {
  let quote: string | null = null;
  for (let i = at + 1; i < text.length; i += 1) {
    const char = text[i];
    if (quote) {
      if (char === quote) quote = null;
    } else if (char === '"' || char === "'") {
      quote = char;
    } else if (char === '>') {
      return i + 1;
    }
  }
  return -1;
}

function startsTag(text: string, at: number, name: string): boolean {
  if (text.slice(at, at + name.length + 1).toLowerCase() !== `<${name}`) return false;
  const next = text[at + name.length + 1];
  return next === undefined || /[\s/>]/.test(next);
}

/** True when the bytes end inside what could still turn into `<head` ("", "<", "<he"…). */
function mayStillBecomeHead(text: string, at: number): boolean {
  const rest = text.slice(at).toLowerCase();
  return rest.length <= 5 && '<head'.startsWith(rest);
}

/** Skips whitespace, comments, doctype and processing instructions; -1 if one is unfinished. */
function skipPrologue(text: string, at: number): number {
  for (;;) {
    at = skipSpace(text, at);
    if (text.startsWith('<!--', at)) {
      const end = text.indexOf('-->', at + 4);
      if (end < 0) return -1;
      at = end + 3;
    } else if (text.startsWith('<!', at) || text.startsWith('<?', at)) {
      const end = text.indexOf('>', at + 2);
      if (end < 0) return -1;
      at = end + 1;
    } else {
      return at;
    }
  }
}

/**
 * Where the bootstrap goes: right after `<head …>`, else after `<html …>`, else after any BOM,
 * doctype and leading comments — always before the page's first script.
 * Returns null when `bytes` ends before that point is certain (a streaming caller waits for more).
 *
 * @example
 *   findInjectionOffset(Buffer.from('<!doctype html><html><head><title>')) // → 27
 */
export function findInjectionOffset(bytes: Uint8Array, final = true): number | null {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const bom = UTF8_BOM.every((byte, i) => bytes[i] === byte) ? 3 : 0;
  const incomplete = (fallback: number) => (final ? fallback : null);
  let at = skipPrologue(text, bom);
  if (at < 0) return incomplete(bom);
  const top = at;
  if (startsTag(text, at, 'html')) {
    const end = tagEnd(text, at);
    if (end < 0) return incomplete(top);
    at = skipPrologue(text, end);
    if (at < 0) return incomplete(end);
    if (!final && mayStillBecomeHead(text, at)) return null;
    if (!startsTag(text, at, 'head')) return end;
  } else if (!startsTag(text, at, 'head')) {
    if (!final && mayStillBecomeHead(text, at)) return null;
    return top;
  }
  const headEnd = tagEnd(text, at);
  return headEnd < 0 ? incomplete(top) : headEnd;
}

/** Splices ASCII `markup` into `body` at `offset`, leaving every other byte as it was. */
export function spliceMarkup(body: Uint8Array, offset: number, markup: string): Buffer {
  return Buffer.concat([body.subarray(0, offset), Buffer.from(markup, 'latin1'), body.subarray(offset)]);
}
