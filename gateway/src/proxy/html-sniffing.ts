/**
 * Whether a browser shows a body that came with no media type as HTML, told from its first bytes
 * as Chromium tells it (net/base/mime_sniffer.cc, the HTML step of "rules for identifying an
 * unknown MIME type" in the MIME Sniffing standard): past leading ASCII whitespace, within the
 * first 512 bytes, the body starts with one of these, in any case. Chromium asks for no tag end
 * after the name, so `<bx>` counts; a byte order mark is no whitespace, and such a body is text.
 */
const HTML_SIGNATURES = ['<!doctype html', '<script', '<html', '<!--', '<head', '<iframe', '<h1', '<div', '<font', '<table', '<a', '<style', '<title', '<b', '<body', '<br', '<p'].map(
  (signature) => Buffer.from(signature, 'latin1'),
);

/** How far a browser looks for the signature. */
export const SNIFF_WINDOW = 512;

export type SniffResult = 'html' | 'other' | 'undecided';

const isAsciiWhitespace = (byte: number) => byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
const lowerAscii = (byte: number) => (byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte);

/**
 * `html` or `other` once the first bytes tell; `undecided` while they may still become a
 * signature (`complete`: no more bytes come, so they never will). Reads at most 512 bytes.
 *
 * @example
 *   sniffHtml(Buffer.from('  <P>hi'), false); // → 'html'
 *   sniffHtml(Buffer.from('<ht'), false);     // → 'undecided'
 *   sniffHtml(Buffer.from('hi <p>'), false);  // → 'other'
 */
export function sniffHtml(bytes: Uint8Array, complete: boolean): SniffResult {
  const window = Math.min(bytes.length, SNIFF_WINDOW);
  let start = 0;
  while (start < window && isAsciiWhitespace(bytes[start] ?? 0)) start++;
  let open = false;
  for (const signature of HTML_SIGNATURES) {
    const match = matchedLength(bytes, start, window, signature);
    if (match === signature.length) return 'html';
    // Cut off by the end of what came, not by a byte that differs: more bytes may complete it.
    if (match === window - start && window < SNIFF_WINDOW) open = true;
  }
  if (start === window && window < SNIFF_WINDOW) open = true;
  return open && !complete ? 'undecided' : 'other';
}

/** How many bytes of `signature` the body has at `start`, before `end` or the first that differs. */
function matchedLength(bytes: Uint8Array, start: number, end: number, signature: Buffer): number {
  let length = 0;
  while (length < signature.length && start + length < end && lowerAscii(bytes[start + length] ?? 0) === signature[length]) length++;
  return length;
}
