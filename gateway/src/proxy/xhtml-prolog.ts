/**
 * XHTML documents (application/xhtml+xml) are read by html-tokenizer, like HTML, but parsed by the
 * browser's XML parser. Both agree on where a token ends only for the shapes XML allows, so before
 * the markup's place is decided the head scanner asks here whether the XML parser ends each markup
 * token at the byte the HTML tokenizer did, and whether it is one XML allows there:
 * - a comment `<!--…-->` (HTML also ends one at `<!-->`, `<!--->` and `--!>`; XML does not);
 * - a processing instruction `<?…?>` whose first `>` is its end (`<?xml-stylesheet href="a>b"?>`
 *   goes on past the first `>` in XML);
 * - before the root element only, a DOCTYPE without an internal subset: no `[` (XML reads
 *   `[<!ENTITY who "ok">]` as part of the DOCTYPE, HTML ends it at the entity's `>`).
 * Anything else means the HTML tokens may lie across XML constructs: the document is left alone.
 *
 * It looks only at bytes before the root element, and at two bytes per markup token after it:
 * the scanner stops asking once the markup's place is decided.
 */
import type { MarkupKind } from './html-tokenizer.js';

const LEFT_BRACKET = 0x5b;
const QUESTION_MARK = 0x3f;

/**
 * @example
 *   const prolog = new XhtmlProlog();
 *   prolog.reading(chunk, offsetOfChunk); // before the tokenizer reads the chunk
 *   tokenizer.write(chunk);               // its markup callback asks prolog.agrees(start, end, kind, beforeRoot)
 *   prolog.read(stillBeforeRoot);
 */
export class XhtmlProlog {
  /** The chunk the tokenizer is reading, and the absolute offset of its first byte. */
  private chunk: Uint8Array = new Uint8Array();
  private chunkStart = 0;
  /** The last byte of the chunks before it. */
  private lastByte = -1;
  /** Absolute offset of the last `[` in the chunks before it (read only before the root element), or -1. */
  private lastBracket = -1;

  /** Called before the tokenizer reads `chunk`, whose first byte is at absolute offset `start`. */
  reading(chunk: Uint8Array, start: number): void {
    this.chunk = chunk;
    this.chunkStart = start;
  }

  /** Called once the tokenizer has read the chunk given to `reading`; `beforeRoot` while no root element has started yet. */
  read(beforeRoot: boolean): void {
    const { chunk } = this;
    if (chunk.length === 0) return;
    this.lastByte = chunk[chunk.length - 1]!;
    if (!beforeRoot) return;
    const bracket = chunk.lastIndexOf(LEFT_BRACKET);
    if (bracket >= 0) this.lastBracket = this.chunkStart + bracket;
  }

  /** Whether the XML parser reads the markup token at [start, end) as the same token, and allows it here. */
  agrees(start: number, end: number, kind: MarkupKind, beforeRoot: boolean): boolean {
    switch (kind) {
      case 'comment':
        return true;
      case 'processing-instruction':
        // `<?` … `?>`, the `?` not the one that opened it.
        return end - start >= 4 && this.byteAt(end - 2) === QUESTION_MARK;
      case 'declaration':
        return beforeRoot && !this.hasBracket(start, end);
      default:
        return false;
    }
  }

  /** The byte at an absolute offset in the current chunk or the last one before it. */
  private byteAt(offset: number): number {
    return offset >= this.chunkStart ? this.chunk[offset - this.chunkStart]! : offset === this.chunkStart - 1 ? this.lastByte : -1;
  }

  /** Whether a `[` lies in [start, end); `end` is in the current chunk, whose bytes from `start` on are the token's. */
  private hasBracket(start: number, end: number): boolean {
    if (this.lastBracket >= start) return true;
    const from = Math.max(start - this.chunkStart, 0);
    return this.chunk.subarray(from, end - this.chunkStart).includes(LEFT_BRACKET);
  }
}
