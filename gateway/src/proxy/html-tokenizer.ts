/**
 * A streaming HTML tokenizer over raw bytes: the WHATWG tokenizer's states, reduced to what it
 * takes to know where every token starts and ends. It reads each byte once, keeps its state across
 * chunks (a token may be split anywhere) and reports tokens with absolute byte offsets.
 *
 * Bytes are read as latin1, one character per byte: every structural byte (`<`, `>`, `/`, `=`,
 * `-`, `!`, quotes, whitespace) is ASCII, which an ASCII-compatible charset (UTF-8, Shift_JIS,
 * EUC-KR, GBK, windows-125x) never uses as the trail byte of a multi-byte character.
 *
 * Reduced on purpose: character references are not decoded (none can end a token; attribute values
 * come back raw, for the caller to decode), and a tag name or attribute name longer than any we look
 * for is cut short. Which content model follows a start tag (`<title>` → RCDATA, `<script>` →
 * script data…) is the tree builder's call, so the handler returns it.
 *
 * Why not parse5's tokenizer: it concatenates each chunk onto a string it then indexes, copying
 * the whole of a long token again on every chunk (measured: a 1 MiB comment fed 100 bytes at a
 * time costs 28 s of CPU). See README "Libraries and why".
 */

/** How the tokenizer reads the text after a start tag (set by the tree builder). */
export type ContentModel = 'data' | 'rcdata' | 'rawtext' | 'script';

export interface Attribute {
  /** Lower-cased, cut to NAME_LIMIT characters. */
  name: string;
  /** Raw (not entity-decoded) latin1 text; '' when the attribute has no value. */
  value: string;
  /** Byte range of the value, quotes excluded; both -1 when there is no value. */
  valueStart: number;
  valueEnd: number;
  quoted: boolean;
}

export interface StartTag {
  name: string;
  start: number;
  end: number;
  /** Written `<name …/>` (which HTML ignores on most elements, and XML reads as an empty element). */
  selfClosing: boolean;
  /** Without duplicates: as in HTML, the first of two same-named attributes wins. */
  attributes: Attribute[];
}

/**
 * How a markup token opened and closed, for readers that must know whether an XML parser would end
 * it at the same byte:
 * - `comment`: `<!--` … `-->`;
 * - `abrupt-comment`: a comment HTML ends at `<!-->`, `<!--->` or `--!>`;
 * - `declaration`: `<!` … the first `>` (a doctype, `<![CDATA[`, anything else);
 * - `processing-instruction`: `<?` … the first `>`;
 * - `bogus`: `</>` or `</` not followed by a letter, … the first `>`;
 * - `unfinished`: a comment or declaration the document ended inside.
 */
export type MarkupKind = 'comment' | 'abrupt-comment' | 'declaration' | 'processing-instruction' | 'bogus' | 'unfinished';

export interface TokenHandler {
  startTag(tag: StartTag): ContentModel;
  endTag(name: string, start: number, end: number): void;
  /** A comment, doctype, bogus comment or `</>`: never content. */
  markup(start: number, end: number, kind: MarkupKind): void;
  /** Character data that is not whitespace, starting at `at` (data content model only). */
  text(at: number): void;
}

/** Names longer than this match none we look for; keeping more would only cost memory. */
const NAME_LIMIT = 16;
/**
 * A tag keeps this many distinct attributes, the first ones, as HTML keeps the first of two with one
 * name: what the proxy reads of a tag (a `<meta>`'s charset, http-equiv and content) comes early,
 * and a page's tag of a hundred thousand attributes then holds no more memory than one of 256.
 */
const KEPT_ATTRIBUTES = 256;
/** Past this many, a tag's attribute names are looked up in a set: a name costs the same, however many came before it. */
const SCANNED_ATTRIBUTES = 8;

const enum S {
  Data,
  TagOpen,
  EndTagOpen,
  TagName,
  BeforeAttrName,
  AttrName,
  AfterAttrName,
  BeforeAttrValue,
  AttrValueDouble,
  AttrValueSingle,
  AttrValueUnquoted,
  AfterAttrValueQuoted,
  SelfClosing,
  MarkupDeclOpen,
  MarkupDeclDash,
  BogusComment,
  CommentStart,
  CommentStartDash,
  Comment,
  CommentEndDash,
  CommentEnd,
  CommentEndBang,
  // RCDATA and RAWTEXT differ only in character references, which never end a token.
  Raw,
  RawLessThan,
  RawEndTagOpen,
  RawEndTagName,
  Script,
  ScriptLessThan,
  ScriptEndTagOpen,
  ScriptEndTagName,
  ScriptEscapeStart,
  ScriptEscapeStartDash,
  ScriptEscaped,
  ScriptEscapedDash,
  ScriptEscapedDashDash,
  ScriptEscapedLessThan,
  ScriptEscapedEndTagOpen,
  ScriptEscapedEndTagName,
  ScriptDoubleEscapeStart,
  ScriptDoubleEscaped,
  ScriptDoubleEscapedDash,
  ScriptDoubleEscapedDashDash,
  ScriptDoubleEscapedLessThan,
  ScriptDoubleEscapeEnd,
}

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0c || c === 0x0d;
const isAlpha = (c: number) => ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);
const lower = (c: number) => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
const UTF8_BOM = [0xef, 0xbb, 0xbf];

/**
 * @example
 *   const tokenizer = new HtmlTokenizer({ startTag: (tag) => (tag.name === 'title' ? 'rcdata' : 'data'), endTag() {}, markup() {}, text() {} });
 *   tokenizer.write(Buffer.from('<title>a</ti'));
 *   tokenizer.write(Buffer.from('tle><p>'));
 *   tokenizer.end();
 */
export class HtmlTokenizer {
  /**
   * The work done, for tests: bytes examined (a byte looked at twice counts twice), and attribute
   * names compared to tell a duplicate.
   */
  work = 0;
  /** Absolute offset of the next byte to be written. */
  private offset = 0;
  private state = S.Data;
  private stopped = false;
  private bomMatched = 0;
  /** Where the token being read began (its `<`). */
  private tokenStart = 0;
  /** End of the last whole token or whitespace in the data content model. */
  private lastBoundary = 0;
  private isEndTag = false;
  /** What the bogus comment being read opened as. */
  private bogusKind: MarkupKind = 'bogus';
  private tagName = '';
  private attributes: Attribute[] = [];
  private attribute: Attribute | null = null;
  /** The names in `attributes`, once there are more than SCANNED_ATTRIBUTES of them. */
  private attributeNames: Set<string> | null = null;
  /** The value being read, from this chunk's `valueFrom` onwards (earlier chunks already in `attribute.value`). */
  private valueFrom = -1;
  /** Tag whose end tag closes the current RCDATA/RAWTEXT/script data. */
  private rawName = '';
  /** Where the start tag of that element began, while its end tag has not been read (-1 after). */
  private rawStart = -1;
  /** How much of `rawName` (or "script", when double-escaping) the letters read so far match; -1 once they cannot. */
  private matched = 0;

  constructor(private readonly handler: TokenHandler) {}

  /** The end of the last whole token (or whitespace) in data: where a caller may insert without splitting one. */
  get boundary(): number {
    return this.lastBoundary;
  }

  /**
   * Where markup may go without landing in a token or in an element's text: `boundary`, or, while
   * the text of a `<script>`, `<style>`, `<title>`… is read, before that element.
   */
  get insertionPoint(): number {
    return this.rawStart >= 0 ? this.rawStart : this.lastBoundary;
  }

  /** Where the start tag being read (or a `<` that may begin one) began, or -1. */
  get openStartTag(): number {
    if (this.state === S.TagOpen) return this.tokenStart;
    return this.state >= S.TagName && this.state <= S.SelfClosing && !this.isEndTag ? this.tokenStart : -1;
  }

  /** Where the tag, comment or doctype being read began, or -1 between tokens and in raw text. */
  get tokenInProgress(): number {
    return this.state >= S.TagOpen && this.state <= S.CommentEndBang ? this.tokenStart : -1;
  }

  /** Absolute offset of the next byte to be written. */
  get position(): number {
    return this.offset;
  }

  /** Stops reading: the rest of this chunk and every later one are ignored. */
  stop(): void {
    this.stopped = true;
  }

  write(chunk: Uint8Array): void {
    const base = this.offset;
    this.offset += chunk.length;
    if (this.stopped) return;
    let i = 0;
    while (this.bomMatched >= 0 && this.bomMatched < 3 && i < chunk.length) {
      this.work += 1;
      if (chunk[i] !== UTF8_BOM[this.bomMatched]) {
        // The bytes matched so far were not a BOM after all: they are text.
        if (this.bomMatched > 0) this.handler.text(0);
        this.bomMatched = -1;
        break;
      }
      this.bomMatched += 1;
      i += 1;
      if (this.bomMatched === 3) this.lastBoundary = 3;
    }
    if (this.attribute && this.valueFrom >= 0) this.valueFrom = 0;
    this.run(chunk, i, base);
    if (this.attribute && this.valueFrom >= 0 && !this.stopped) {
      this.attribute.value += latin1(chunk, this.valueFrom, chunk.length);
    }
  }

  /** The end of the document: a token left open is finished (or dropped) the way HTML does. */
  end(): void {
    if (this.stopped) return;
    if (this.bomMatched > 0 && this.bomMatched < 3) this.handler.text(0);
    switch (this.state) {
      case S.TagOpen:
      case S.EndTagOpen:
        // A lone `<` or `</` is text.
        this.handler.text(this.tokenStart);
        break;
      case S.MarkupDeclOpen:
      case S.MarkupDeclDash:
      case S.BogusComment:
      case S.CommentStart:
      case S.CommentStartDash:
      case S.Comment:
      case S.CommentEndDash:
      case S.CommentEnd:
      case S.CommentEndBang:
        // An unfinished comment or doctype is still emitted, up to the end.
        this.handler.markup(this.tokenStart, this.offset, 'unfinished');
        break;
      default:
        // An unfinished tag is dropped; text and raw text need nothing.
        break;
    }
    this.stopped = true;
  }

  private run(chunk: Uint8Array, from: number, base: number): void {
    const n = chunk.length;
    let i = from;
    while (i < n && !this.stopped) {
      const c = chunk[i]!;
      this.work += 1;
      switch (this.state) {
        case S.Data:
          if (c === 0x3c) {
            this.tokenStart = base + i;
            this.state = S.TagOpen;
          } else if (isSpace(c)) {
            this.lastBoundary = base + i + 1;
          } else {
            this.handler.text(base + i);
          }
          break;
        case S.TagOpen:
          if (c === 0x21) this.state = S.MarkupDeclOpen;
          else if (c === 0x2f) this.state = S.EndTagOpen;
          else if (isAlpha(c)) {
            this.beginTag(false);
            continue;
          } else if (c === 0x3f) this.bogus('processing-instruction');
          else {
            // `<` not followed by a tag: it is text, and this byte is read again as data.
            this.state = S.Data;
            this.handler.text(this.tokenStart);
            continue;
          }
          break;
        case S.EndTagOpen:
          if (isAlpha(c)) {
            this.beginTag(true);
            continue;
          }
          if (c === 0x3e) {
            this.state = S.Data;
            this.markup(base + i + 1, 'bogus');
          } else this.bogus('bogus');
          break;
        case S.TagName:
          if (isSpace(c)) this.state = S.BeforeAttrName;
          else if (c === 0x2f) this.state = S.SelfClosing;
          else if (c === 0x3e) this.emitTag(base + i + 1);
          else if (this.tagName.length < NAME_LIMIT) this.tagName += String.fromCharCode(lower(c));
          break;
        case S.BeforeAttrName:
          if (isSpace(c)) break;
          if (c === 0x2f || c === 0x3e) {
            this.state = S.AfterAttrName;
            continue;
          }
          this.beginAttribute();
          if (c === 0x3d) this.attribute!.name = '=';
          else continue;
          break;
        case S.AttrName:
          if (isSpace(c) || c === 0x2f || c === 0x3e) {
            this.endAttributeName();
            this.state = S.AfterAttrName;
            continue;
          }
          if (c === 0x3d) {
            this.endAttributeName();
            this.state = S.BeforeAttrValue;
          } else if (this.attribute!.name.length < NAME_LIMIT) this.attribute!.name += String.fromCharCode(lower(c));
          break;
        case S.AfterAttrName:
          if (isSpace(c)) break;
          if (c === 0x2f) this.state = S.SelfClosing;
          else if (c === 0x3d) this.state = S.BeforeAttrValue;
          else if (c === 0x3e) this.emitTag(base + i + 1);
          else {
            this.beginAttribute();
            continue;
          }
          break;
        case S.BeforeAttrValue:
          if (isSpace(c)) break;
          if (c === 0x22 || c === 0x27) {
            this.beginValue(i + 1, base, true);
            this.state = c === 0x22 ? S.AttrValueDouble : S.AttrValueSingle;
          } else if (c === 0x3e) this.emitTag(base + i + 1);
          else {
            this.beginValue(i, base, false);
            this.state = S.AttrValueUnquoted;
            continue;
          }
          break;
        case S.AttrValueDouble:
        case S.AttrValueSingle: {
          const quote = this.state === S.AttrValueDouble ? 0x22 : 0x27;
          const close = this.skipTo(chunk, quote, i);
          if (close < 0) {
            i = n;
            continue;
          }
          i = close;
          this.endValue(chunk, i, base);
          this.state = S.AfterAttrValueQuoted;
          break;
        }
        case S.AttrValueUnquoted:
          if (isSpace(c)) {
            this.endValue(chunk, i, base);
            this.state = S.BeforeAttrName;
          } else if (c === 0x3e) {
            this.endValue(chunk, i, base);
            this.emitTag(base + i + 1);
          }
          break;
        case S.AfterAttrValueQuoted:
          if (isSpace(c)) this.state = S.BeforeAttrName;
          else if (c === 0x2f) this.state = S.SelfClosing;
          else if (c === 0x3e) this.emitTag(base + i + 1);
          else {
            this.state = S.BeforeAttrName;
            continue;
          }
          break;
        case S.SelfClosing:
          if (c === 0x3e) this.emitTag(base + i + 1, true);
          else {
            this.state = S.BeforeAttrName;
            continue;
          }
          break;
        case S.MarkupDeclOpen:
          // `<!--` opens a comment; a doctype, `<![CDATA[` (outside foreign content) and any other
          // `<!…` end at the first `>`, like a bogus comment, so they need no states of their own.
          if (c === 0x2d) this.state = S.MarkupDeclDash;
          else {
            this.bogus('declaration');
            continue;
          }
          break;
        case S.MarkupDeclDash:
          if (c === 0x2d) this.state = S.CommentStart;
          else {
            this.bogus('declaration');
            continue;
          }
          break;
        case S.BogusComment: {
          const close = this.skipTo(chunk, 0x3e, i);
          if (close < 0) {
            i = n;
            continue;
          }
          i = close;
          this.state = S.Data;
          this.markup(base + i + 1, this.bogusKind);
          break;
        }
        case S.CommentStart:
        case S.CommentStartDash:
          if (c === 0x2d) this.state = this.state === S.CommentStart ? S.CommentStartDash : S.CommentEnd;
          else if (c === 0x3e) {
            this.state = S.Data;
            this.markup(base + i + 1, 'abrupt-comment');
          } else this.state = S.Comment;
          break;
        case S.Comment: {
          const dash = this.skipTo(chunk, 0x2d, i);
          if (dash < 0) {
            i = n;
            continue;
          }
          i = dash;
          this.state = S.CommentEndDash;
          break;
        }
        case S.CommentEndDash:
          this.state = c === 0x2d ? S.CommentEnd : S.Comment;
          break;
        case S.CommentEnd:
          if (c === 0x3e) {
            this.state = S.Data;
            this.markup(base + i + 1, 'comment');
          } else if (c === 0x21) this.state = S.CommentEndBang;
          else if (c !== 0x2d) this.state = S.Comment;
          break;
        case S.CommentEndBang:
          if (c === 0x2d) this.state = S.CommentEndDash;
          else if (c === 0x3e) {
            this.state = S.Data;
            this.markup(base + i + 1, 'abrupt-comment');
          } else this.state = S.Comment;
          break;
        case S.Raw:
        case S.Script: {
          const open = this.skipTo(chunk, 0x3c, i);
          if (open < 0) {
            i = n;
            continue;
          }
          i = open;
          this.tokenStart = base + i;
          this.state = this.state === S.Raw ? S.RawLessThan : S.ScriptLessThan;
          break;
        }
        case S.RawLessThan:
          this.state = c === 0x2f ? S.RawEndTagOpen : S.Raw;
          if (c !== 0x2f) continue;
          break;
        case S.RawEndTagOpen:
        case S.ScriptEndTagOpen:
        case S.ScriptEscapedEndTagOpen: {
          const text = this.state === S.RawEndTagOpen ? S.Raw : this.state === S.ScriptEndTagOpen ? S.Script : S.ScriptEscaped;
          if (isAlpha(c)) {
            this.matched = 0;
            this.state = text === S.Raw ? S.RawEndTagName : text === S.Script ? S.ScriptEndTagName : S.ScriptEscapedEndTagName;
          } else this.state = text;
          continue;
        }
        case S.RawEndTagName:
        case S.ScriptEndTagName:
        case S.ScriptEscapedEndTagName: {
          if (isAlpha(c)) {
            this.match(c, this.rawName);
            break;
          }
          const appropriate = this.matched === this.rawName.length;
          if (appropriate && (isSpace(c) || c === 0x2f || c === 0x3e)) {
            // The element's end tag: read on as an ordinary (end) tag.
            this.isEndTag = true;
            this.tagName = this.rawName;
            this.attributes = [];
            this.attributeNames = null;
            this.state = S.TagName;
            continue;
          }
          this.state = this.state === S.RawEndTagName ? S.Raw : this.state === S.ScriptEndTagName ? S.Script : S.ScriptEscaped;
          continue;
        }
        case S.ScriptLessThan:
          if (c === 0x2f) this.state = S.ScriptEndTagOpen;
          else if (c === 0x21) this.state = S.ScriptEscapeStart;
          else {
            this.state = S.Script;
            continue;
          }
          break;
        case S.ScriptEscapeStart:
        case S.ScriptEscapeStartDash:
          if (c === 0x2d) this.state = this.state === S.ScriptEscapeStart ? S.ScriptEscapeStartDash : S.ScriptEscapedDashDash;
          else {
            this.state = S.Script;
            continue;
          }
          break;
        case S.ScriptEscaped:
        case S.ScriptEscapedDash:
        case S.ScriptEscapedDashDash:
          if (c === 0x2d) this.state = this.state === S.ScriptEscaped ? S.ScriptEscapedDash : S.ScriptEscapedDashDash;
          else if (c === 0x3c) {
            this.tokenStart = base + i;
            this.state = S.ScriptEscapedLessThan;
          } else if (c === 0x3e && this.state === S.ScriptEscapedDashDash) this.state = S.Script;
          else this.state = S.ScriptEscaped;
          break;
        case S.ScriptEscapedLessThan:
          if (c === 0x2f) this.state = S.ScriptEscapedEndTagOpen;
          else if (isAlpha(c)) {
            this.matched = 0;
            this.state = S.ScriptDoubleEscapeStart;
            continue;
          } else {
            this.state = S.ScriptEscaped;
            continue;
          }
          break;
        case S.ScriptDoubleEscapeStart:
        case S.ScriptDoubleEscapeEnd: {
          const starting = this.state === S.ScriptDoubleEscapeStart;
          if (isAlpha(c)) {
            this.match(c, 'script');
            break;
          }
          const isScript = this.matched === 6;
          if (isSpace(c) || c === 0x2f || c === 0x3e) {
            this.state = starting === isScript ? S.ScriptDoubleEscaped : S.ScriptEscaped;
            break;
          }
          this.state = starting ? S.ScriptEscaped : S.ScriptDoubleEscaped;
          continue;
        }
        case S.ScriptDoubleEscaped:
        case S.ScriptDoubleEscapedDash:
        case S.ScriptDoubleEscapedDashDash:
          if (c === 0x2d) this.state = this.state === S.ScriptDoubleEscaped ? S.ScriptDoubleEscapedDash : S.ScriptDoubleEscapedDashDash;
          else if (c === 0x3c) this.state = S.ScriptDoubleEscapedLessThan;
          else if (c === 0x3e && this.state === S.ScriptDoubleEscapedDashDash) this.state = S.Script;
          else this.state = S.ScriptDoubleEscaped;
          break;
        case S.ScriptDoubleEscapedLessThan:
          if (c === 0x2f) {
            this.matched = 0;
            this.state = S.ScriptDoubleEscapeEnd;
          } else {
            this.state = S.ScriptDoubleEscaped;
            continue;
          }
          break;
      }
      i += 1;
    }
  }

  /** The next `byte` from `from` on (or -1), counting the bytes passed over as work. */
  private skipTo(chunk: Uint8Array, byte: number, from: number): number {
    const found = chunk.indexOf(byte, from);
    // The byte at `from` was counted when the loop read it.
    this.work += (found < 0 ? chunk.length : found + 1) - from - 1;
    return found;
  }

  /** Follows how far the letters of a name read so far match `name` (case-insensitively). */
  private match(c: number, name: string): void {
    if (this.matched >= 0 && this.matched < name.length && lower(c) === name.charCodeAt(this.matched)) this.matched += 1;
    else this.matched = -1;
  }

  private beginTag(isEndTag: boolean): void {
    this.isEndTag = isEndTag;
    this.tagName = '';
    this.attributes = [];
    this.attributeNames = null;
    this.attribute = null;
    this.state = S.TagName;
  }

  private beginAttribute(): void {
    this.attribute = { name: '', value: '', valueStart: -1, valueEnd: -1, quoted: false };
    this.state = S.AttrName;
  }

  /** Keeps the attribute unless the tag has one of its name, or has all it keeps (a page's tag of 100,000 attribute names once took minutes here). */
  private endAttributeName(): void {
    const { attributes } = this;
    if (attributes.length >= KEPT_ATTRIBUTES) return;
    const { name } = this.attribute!;
    if (attributes.length < SCANNED_ATTRIBUTES) {
      this.work += attributes.length;
      if (attributes.some((other) => other.name === name)) return;
    } else {
      // Made once, from the names scanned so far; every name kept after them goes in too.
      const names = (this.attributeNames ??= new Set(attributes.map((other) => other.name)));
      this.work += 1;
      if (names.has(name)) return;
      names.add(name);
    }
    attributes.push(this.attribute!);
  }

  private beginValue(at: number, base: number, quoted: boolean): void {
    const attribute = this.attribute!;
    attribute.valueStart = base + at;
    attribute.quoted = quoted;
    this.valueFrom = at;
  }

  private endValue(chunk: Uint8Array, at: number, base: number): void {
    const attribute = this.attribute!;
    attribute.value += latin1(chunk, this.valueFrom, at);
    attribute.valueEnd = base + at;
    this.valueFrom = -1;
  }

  private bogus(kind: MarkupKind): void {
    this.bogusKind = kind;
    this.state = S.BogusComment;
  }

  private emitTag(end: number, selfClosing = false): void {
    this.state = S.Data;
    this.lastBoundary = end;
    this.attribute = null;
    this.valueFrom = -1;
    if (this.isEndTag) {
      // In an element's text, the only end tag read is the one that closes it.
      this.rawStart = -1;
      this.handler.endTag(this.tagName, this.tokenStart, end);
      return;
    }
    const model = this.handler.startTag({ name: this.tagName, start: this.tokenStart, end, selfClosing, attributes: this.attributes });
    if (model !== 'data') {
      this.rawName = this.tagName;
      this.rawStart = this.tokenStart;
      this.state = model === 'script' ? S.Script : S.Raw;
    }
  }

  private markup(end: number, kind: MarkupKind): void {
    this.lastBoundary = end;
    this.handler.markup(this.tokenStart, end, kind);
  }
}

function latin1(chunk: Uint8Array, from: number, to: number): string {
  return Buffer.from(chunk.buffer, chunk.byteOffset + from, to - from).toString('latin1');
}
