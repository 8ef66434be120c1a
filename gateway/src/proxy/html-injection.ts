/**
 * Injection works on raw bytes read as latin1 (html-tokenizer), which is sound for every
 * ASCII-compatible charset and only for those.
 */

/**
 * The labels the Encoding Standard maps to UTF-16LE or UTF-16BE (browsers decode a page so labelled
 * as UTF-16, not only one labelled `utf-16…`), and UTF-32, which no browser decodes but whose bytes
 * are no less ASCII-incompatible.
 */
const WIDE_LABELS = new Set(['csunicode', 'iso-10646-ucs-2', 'ucs-2', 'unicode', 'unicodefeff', 'unicodefffe', 'utf-16', 'utf-16be', 'utf-16le', 'utf-32', 'utf-32be', 'utf-32le']);

/** Pages labelled UTF-16/32 (a charset as `extractContentType` gives it) cannot take ASCII markup without corrupting them. */
export const isWideCharset = (label: string | undefined): boolean => label !== undefined && WIDE_LABELS.has(label);

/** A UTF-16 byte order mark, which outranks any label: such a page cannot take ASCII markup either. */
export function startsWithUtf16Bom(prefix: Uint8Array): boolean {
  const [a, b] = prefix;
  return (a === 0xfe && b === 0xff) || (a === 0xff && b === 0xfe);
}
