/** A line (or an event) longer than the bound its reader set: the stream is not worth reading on. */
export class StreamLimitError extends Error {
  override name = 'StreamLimitError';
  constructor(
    readonly what: string,
    readonly limit: number,
  ) {
    super(`${what} is longer than ${limit} characters`);
  }
}

/**
 * Splits text that arrives in pieces into lines ending in CR, LF or CRLF (a CRLF split between two
 * pieces counts once). Linear: every character is looked at once, and the unfinished last line is
 * kept as a list of pieces joined only when the line ends. Bounded: an unfinished line longer
 * than `maxLineChars` throws a `StreamLimitError` as soon as it is seen.
 *
 * @example
 *   const lines = createLineSplitter(1 << 20);
 *   lines.push('a\r'); // ['a']
 *   lines.push('\nb\n'); // ['b']
 */
export function createLineSplitter(maxLineChars = Number.POSITIVE_INFINITY) {
  let pieces: string[] = [];
  let pendingChars = 0;
  /** The last piece ended in CR: an LF at the start of the next one belongs to it. */
  let afterCr = false;
  const finishLine = (lines: string[], last: string) => {
    if (pendingChars + last.length > maxLineChars) throw new StreamLimitError('A line', maxLineChars);
    lines.push(pieces.length === 0 ? last : pieces.join('') + last);
    pieces = [];
    pendingChars = 0;
  };
  return {
    push(text: string): string[] {
      const lines: string[] = [];
      let start = afterCr && text.startsWith('\n') ? 1 : 0;
      afterCr = false;
      // Next LF and next CR at or after `start`, each searched for again only once passed: linear.
      let lf = text.indexOf('\n', start);
      let cr = text.indexOf('\r', start);
      while (lf !== -1 || cr !== -1) {
        const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
        finishLine(lines, text.slice(start, end));
        start = end + 1;
        if (end === cr) {
          if (start === text.length) afterCr = true;
          else if (text.charCodeAt(start) === 10) start += 1;
        }
        if (lf !== -1 && lf < start) lf = text.indexOf('\n', start);
        if (cr !== -1 && cr < start) cr = text.indexOf('\r', start);
      }
      if (start < text.length) {
        pendingChars += text.length - start;
        if (pendingChars > maxLineChars) throw new StreamLimitError('A line', maxLineChars);
        pieces.push(text.slice(start));
      }
      return lines;
    },
    /** The last line if the text did not end with a line break (then the splitter is empty again). */
    end(): string | undefined {
      if (pieces.length === 0) return undefined;
      const rest = pieces.join('');
      pieces = [];
      pendingChars = 0;
      return rest;
    },
  };
}
