/**
 * Injection works on raw bytes read as latin1 (html-tokenizer), which is sound for every
 * ASCII-compatible charset and only for those.
 */

/** Pages in UTF-16/32 cannot take ASCII markup without corrupting them. */
export function isAsciiIncompatible(prefix: Uint8Array, contentType: string | undefined): boolean {
  if (/charset\s*=\s*"?utf-(16|32)/i.test(contentType ?? '')) return true;
  const [a, b] = prefix;
  return (a === 0xfe && b === 0xff) || (a === 0xff && b === 0xfe);
}
