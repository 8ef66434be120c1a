/**
 * Decides, as a document's bytes stream past once, where the injected markup goes and which CSP
 * meta tags to rewrite, by following the HTML tree builder's first insertion modes ("initial" to
 * "after head") over the tokens of html-tokenizer.
 *
 * The markup goes where the parser would put it in the head anyway, so that the page's own DOM is
 * the same with it as without it (apart from the added nodes):
 * - right after `<head …>`;
 * - else just before the first token that makes the parser create the head itself (the first
 *   text, or a tag other than `<html>`), so after a doctype, comments, `<html …>` and the
 *   whitespace the parser ignores there — never before it, where that whitespace would become a
 *   text node in the head;
 * - always before the page's first script;
 * - but after a `<meta charset>` that starts in the first 1,024 bytes and follows that point,
 *   when only head content that runs nothing lies between (browsers look for the charset in those
 *   bytes; pushed out of them, a page's text can decode as windows-1252, and Firefox reloads it);
 *   when a script or `<base>` lies between, the markup goes before it with a copy of that
 *   declaration in front (the first declaration is the one that counts). So too when the body
 *   starts before the declaration (a `<div>`, an `<img>`, a `<template>`, text): browsers still
 *   take a `<meta charset>` from anywhere in those bytes, so the search goes on through them for
 *   that tag alone, and the markup stays before the body.
 *
 * The `<meta charset>` wait is skipped when nothing in the document can change its encoding: the
 * response's Content-Type names one browsers honour (it outranks any `<meta charset>`), or the
 * document is XHTML (the XML parser never reads one).
 *
 * An XHTML document (`xml`) takes the markup only where HTML's tokens and XML's agree (see
 * xhtml-prolog.ts) and the place is inside its root element, an unprefixed `<html>` that is not
 * empty (`<html/>`): after its prolog (XML declaration, comments, processing instructions, a DOCTYPE
 * without an internal subset), nothing but that root. Any other shape (a prefixed `<x:html>`, an SVG
 * root, a DOCTYPE with an internal subset, a CDATA section before the head…) is left untouched:
 * markup before the root or inside a DOCTYPE makes the whole document an XML parse error.
 *
 * The `headEnd` markup (the plugins' style sheets and deferred scripts) goes last in the head: just
 * before the token that starts the body (after `</head>` and what the parser still puts into the
 * head after it). A page that hydrates its whole document (React 18's `hydrateRoot(document)`)
 * finds its own nodes where its server render put them, and tolerates extra ones after them; one of
 * ours ahead of them made it throw that render away, and our style sheet with it (a deferred script
 * of ours is still there when an async page script hydrates before the parser is done). When the
 * scan stops before the body (`maxBytes`, the end of the document), it goes at the last point
 * outside any token or element text. In XHTML it goes with the markup: past that point, tokens are
 * not checked against XML's, and a place HTML's tokens call outside a script can be inside XML's
 * CDATA section.
 *
 * CSP meta tags count only as children of the head: the scan follows the document to where the
 * body starts (or a `<template>`, whose contents it does not follow) and no further.
 */
import { HtmlTokenizer, type ContentModel, type MarkupKind, type StartTag, type TokenHandler } from './html-tokenizer.js';
import { attributeOf, metaCspEdit, type ByteEdit, type MetaCspRewrite } from './meta-csp.js';
import { XhtmlProlog } from './xhtml-prolog.js';

/** Bytes browsers scan for a `<meta charset>` before parsing (HTML's encoding prescan). */
export const PRESCAN_BYTES = 1024;

export interface HeadScannerOptions {
  /** Stop after this many bytes (`proxy.max_head_bytes`): inject at the best point found so far. */
  maxBytes: number;
  /** The markup to insert: ASCII, or its bytes; opaque here. */
  markup: string | Buffer;
  /** Markup for the end of the head (see above); none when empty. */
  headEnd?: string | Buffer;
  rewriteMetaCsp: MetaCspRewrite;
  /**
   * The response's Content-Type names an encoding browsers honour (a label of the Encoding
   * Standard): no `<meta charset>` can change it, so the markup goes at the first point at once.
   */
  transportCharset?: boolean;
  /** An XHTML document (application/xhtml+xml), parsed as XML: injected into only in the shapes above. */
  xml?: boolean;
}

/** Why a document is passed through untouched, once its bytes showed it cannot take the markup safely. */
export type ScanRefusal = 'unsupported-xhtml';

/** `charsetInBody`: the body has started, and the markup waits only for a `<meta charset>` in the prescan bytes. */
type Mode = 'beforeHtml' | 'beforeHead' | 'inHead' | 'afterHead' | 'charsetInBody' | 'done';

/** Start tags the parser puts into the head from "in head", and what follows each. */
const HEAD_CONTENT: Record<string, ContentModel> = {
  html: 'data',
  head: 'data',
  base: 'data',
  basefont: 'data',
  bgsound: 'data',
  link: 'data',
  meta: 'data',
  title: 'rcdata',
  // Scripting is on in the browsers we serve: <noscript> is raw text.
  noscript: 'rawtext',
  noframes: 'rawtext',
  style: 'rawtext',
  script: 'script',
};
/** Start tags that "after head" still puts into the head. */
const BACK_INTO_HEAD = new Set(['base', 'basefont', 'bgsound', 'link', 'meta', 'noframes', 'script', 'style', 'template', 'title']);
/** End tags that act like any other token before the body: they end the head. */
const HEAD_ENDING_END_TAGS = new Set(['head', 'body', 'html', 'br']);
/** Head content the markup must not move past: it runs, or changes how our URLs resolve. */
const MUST_FOLLOW_MARKUP = new Set(['script', 'base']);
/**
 * Body elements whose contents are not markup, as the tokenizer of a browser's charset search
 * reads them too (a `<meta charset>` inside a `<textarea>` or an `<xmp>` declares nothing).
 * `<plaintext>` is not here: nothing after it is markup, so the search ends there.
 */
const BODY_TEXT_CONTENT: Record<string, ContentModel> = { ...HEAD_CONTENT, textarea: 'rcdata', xmp: 'rawtext', iframe: 'rawtext', noembed: 'rawtext' };

/**
 * The encoding label a `<meta>` declares, by `charset` or by `http-equiv=content-type`'s
 * `charset=`: null when it declares none, '' when it declares one we cannot read.
 */
function declaredCharset(tag: StartTag): string | null {
  if (tag.name !== 'meta') return null;
  const charset = attributeOf(tag, 'charset');
  if (charset) return charset.value.trim();
  if (attributeOf(tag, 'http-equiv')?.value.trim().toLowerCase() !== 'content-type') return null;
  const content = attributeOf(tag, 'content')?.value ?? '';
  if (!/charset/i.test(content)) return null;
  return /charset\s*=\s*["']?([^"';\s]+)/i.exec(content)?.[1] ?? '';
}

/** The declaration again as `<meta charset="…"/>` (valid HTML and XHTML), if its label is a plain encoding name. */
const charsetCopy = (label: string): string | null => (/^[A-Za-z0-9._:-]{1,40}$/.test(label) ? `<meta charset="${label}"/>` : null);

const bytes = (text: string | Buffer): Buffer => (typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
const joined = (first: string | Buffer, second: string | Buffer): string | Buffer =>
  typeof first === 'string' && typeof second === 'string' ? first + second : Buffer.concat([bytes(first), bytes(second)]);

/**
 * @example
 *   const scanner = new HeadScanner({ maxBytes: 1 << 20, markup: '<script src=/x></script>', rewriteMetaCsp: () => null });
 *   scanner.write(Buffer.from('<!doctype html><html><head><title>'));
 *   scanner.takeEdits(scanner.settled); // → [{ start: 27, end: 27, text: '<script src=/x></script>' }]
 */
export class HeadScanner implements TokenHandler {
  private readonly tokenizer = new HtmlTokenizer(this);
  private mode: Mode = 'beforeHtml';
  private injected = false;
  /** What goes at the first point: the options' markup (with the head end, in XHTML). */
  private readonly insertion: string | Buffer;
  /** The head end still to be placed, or null. */
  private headEnd: string | Buffer | null;
  /** While looking for a `<meta charset>` past the first point the markup could go: that point. */
  private fallback: number | null = null;
  /** A script or `<base>` came after `fallback`: the markup stays there, a charset found goes in front of it. */
  private pinned = false;
  /** Decided edits not yet taken, in document order. */
  private edits: ByteEdit[] = [];
  /** Whether a `<meta charset>` in the first 1,024 bytes can still decide the encoding. */
  private readonly prescan: boolean;
  /** For XHTML: whether the XML parser agrees with the tokens read so far. */
  private readonly xhtml: XhtmlProlog | null;
  private refused: ScanRefusal | null = null;

  constructor(private readonly options: HeadScannerOptions) {
    this.xhtml = options.xml ? new XhtmlProlog() : null;
    this.prescan = !options.transportCharset && !options.xml;
    const headEnd = options.headEnd?.length ? options.headEnd : null;
    this.insertion = options.xml && headEnd ? joined(options.markup, headEnd) : options.markup;
    this.headEnd = options.xml ? null : headEnd;
  }

  /** Set when the document is to pass through untouched: nothing was or will be edited. */
  get refusal(): ScanRefusal | null {
    return this.refused;
  }

  /** Bytes examined so far (each once, however the document is chunked). */
  get work(): number {
    return this.tokenizer.work;
  }

  /** True once nothing more will be edited: later bytes can pass straight through. */
  get done(): boolean {
    return this.mode === 'done';
  }

  /** Bytes before this offset are final: no edit will start before it. */
  get settled(): number {
    if (this.mode === 'done') return Infinity;
    if (this.fallback !== null) return this.fallback;
    // Until the head's end is placed, bytes pass on only up to where it could still go.
    if (!this.injected || this.headEnd !== null) return this.tokenizer.insertionPoint;
    const open = this.tokenizer.openStartTag;
    return open >= 0 ? open : this.tokenizer.position;
  }

  write(chunk: Uint8Array): void {
    if (this.mode === 'done') return;
    const start = this.tokenizer.position;
    const room = this.options.maxBytes - start;
    const part = chunk.length < room ? chunk : chunk.subarray(0, Math.max(room, 0));
    if (this.xhtml && !this.injected) {
      this.xhtml.reading(part, start);
      this.tokenizer.write(part);
      this.xhtml.read(this.mode === 'beforeHtml');
    } else this.tokenizer.write(part);
    if (this.fallback !== null && this.tokenizer.position >= PRESCAN_BYTES) {
      const pending = this.tokenizer.tokenInProgress;
      if (pending < 0 || pending >= PRESCAN_BYTES) this.prescanOver();
    }
    if (this.tokenizer.position >= this.options.maxBytes) this.giveUp();
  }

  end(): void {
    if (this.mode === 'done') return;
    this.tokenizer.end();
    this.giveUp();
  }

  /** Decides now, as at `maxBytes`: what is held can go (the gateway holds too much over all documents). */
  stopLooking(): void {
    this.giveUp();
  }

  /** Whether bytes are held back for a `<meta charset>` that may still come in the prescan bytes. */
  get waitingForCharset(): boolean {
    return this.fallback !== null;
  }

  /** Puts the markup where it would go if the prescan bytes held no `<meta charset>`; the head's CSP meta tags are still looked for. */
  stopWaitingForCharset(): void {
    if (this.fallback !== null) this.prescanOver();
  }

  /** Removes and returns the edits that start before `upTo` (`settled`, or Infinity at the end). */
  takeEdits(upTo: number): ByteEdit[] {
    // One starting exactly at `settled` may still get the markup inserted in front of it.
    const count = this.edits.findIndex((edit) => edit.start >= upTo);
    return this.edits.splice(0, count < 0 ? this.edits.length : count);
  }

  text(at: number): void {
    this.beforeToken(at);
    if (this.mode === 'charsetInBody') return;
    // XML allows no text before the root element.
    if (this.xhtml && this.mode === 'beforeHtml') return this.refuse();
    if (this.mode === 'beforeHtml' || this.mode === 'beforeHead') this.decide(at);
    // Text is "anything else" from here to the body: the body starts.
    this.bodyStarts(at);
  }

  markup(start: number, end: number, kind: MarkupKind): void {
    this.beforeToken(start);
    if (this.xhtml && !this.injected && this.mode !== 'done' && !this.xhtml.agrees(start, end, kind, this.mode === 'beforeHtml')) this.refuse();
  }

  startTag(tag: StartTag): ContentModel {
    this.beforeToken(tag.start);
    switch (this.mode) {
      case 'beforeHtml':
      case 'beforeHead':
        // The XHTML root: the markup goes inside it, so it must be one with room for children.
        if (this.xhtml && this.mode === 'beforeHtml' && (tag.name !== 'html' || tag.selfClosing)) {
          this.refuse();
          return 'data';
        }
        if (tag.name === 'html') {
          this.mode = 'beforeHead';
          return 'data';
        }
        this.mode = 'inHead';
        if (tag.name === 'head') {
          this.decide(tag.end);
          return 'data';
        }
        this.decide(tag.start);
        return this.inHead(tag);
      case 'inHead':
        return this.inHead(tag);
      case 'afterHead':
        if (tag.name === 'html' || tag.name === 'head' || BACK_INTO_HEAD.has(tag.name)) return this.inHead(tag);
        this.bodyStarts(tag.start);
        return this.charsetInBody(tag);
      case 'charsetInBody':
        return this.charsetInBody(tag);
      case 'done':
        return 'data';
    }
  }

  endTag(name: string, start: number): void {
    this.beforeToken(start);
    // XML allows no end tag before the root element.
    if (this.xhtml && this.mode === 'beforeHtml') return this.refuse();
    // Other end tags are ignored in every mode here (a `</head>` after the head too).
    if (!HEAD_ENDING_END_TAGS.has(name) || this.mode === 'charsetInBody') return;
    if (this.mode === 'beforeHtml' || this.mode === 'beforeHead') {
      this.decide(start);
      this.mode = 'inHead';
    }
    if (this.mode === 'inHead' && name === 'head') this.mode = 'afterHead';
    else if (name !== 'head') this.bodyStarts(start);
  }

  private inHead(tag: StartTag): ContentModel {
    const model = HEAD_CONTENT[tag.name];
    if (tag.name === 'template' || model === undefined) {
      // <template> contents are not the head's children; anything else starts the body.
      this.bodyStarts(tag.start);
      return this.charsetInBody(tag);
    }
    if (MUST_FOLLOW_MARKUP.has(tag.name) && this.fallback !== null) this.pinned = true;
    if (tag.name === 'meta') this.meta(tag);
    return model;
  }

  private meta(tag: StartTag): void {
    const edit = metaCspEdit(tag, this.options.rewriteMetaCsp);
    if (edit) this.edits.push(edit);
    const charset = this.fallback !== null ? declaredCharset(tag) : null;
    if (this.fallback === null || charset === null) return;
    if (this.pinned) this.injectAt(this.fallback, charsetCopy(charset));
    else this.injectAt(tag.end);
  }

  /** A token starting past the prescan bytes ends the search for a `<meta charset>`. */
  private beforeToken(start: number): void {
    if (this.fallback !== null && start >= PRESCAN_BYTES) this.prescanOver();
  }

  /** No `<meta charset>` in the prescan bytes: the markup goes at the first point. */
  private prescanOver(): void {
    if (this.mode === 'charsetInBody') this.finish();
    else this.stopLookingForCharset();
  }

  /**
   * The body starts at the token at `at`: nothing from there on is edited, and the head's end goes
   * in front of it. While a `<meta charset>` in the prescan bytes could still decide the encoding,
   * the search for one goes on (`charsetInBody`).
   */
  private bodyStarts(at: number): void {
    this.placeHeadEnd(at);
    if (this.fallback === null) return this.finish();
    this.mode = 'charsetInBody';
  }

  /** A tag in the body, while the prescan bytes last: a `<meta charset>` there is copied in front of the markup, which stays before the body. */
  private charsetInBody(tag: StartTag): ContentModel {
    const charset = declaredCharset(tag);
    if (this.fallback !== null && charset !== null) {
      this.injectAt(this.fallback, charsetCopy(charset));
      this.finish();
    } else if (tag.name === 'plaintext') this.finish();
    return BODY_TEXT_CONTENT[tag.name] ?? 'data';
  }

  /** The first point the markup can go: there, or after a `<meta charset>` still to come. */
  private decide(at: number): void {
    if (!this.prescan || at >= PRESCAN_BYTES) this.injectAt(at);
    else this.fallback = at;
  }

  private stopLookingForCharset(): void {
    if (this.fallback !== null) this.injectAt(this.fallback);
  }

  /** Edits are in document order: this one starts after every edit decided so far (the markup, if still to come, goes in front of it). */
  private placeHeadEnd(at: number): void {
    if (this.headEnd === null) return;
    // A `<meta charset>` still to come lies past it, and would be pushed along by it: a copy goes in front of the markup.
    if (this.fallback !== null) this.pinned = true;
    this.edits.push({ start: at, end: at, text: this.headEnd });
    this.headEnd = null;
  }

  private injectAt(at: number, prefix: string | null = null): void {
    this.fallback = null;
    this.pinned = false;
    this.injected = true;
    const edit = { start: at, end: at, text: prefix ? joined(prefix, this.insertion) : this.insertion };
    // CSP meta edits found while looking for a charset lie before or after it; an insertion goes
    // before a replacement that starts at the same offset.
    const index = this.edits.findIndex((other) => other.start >= at);
    this.edits.splice(index < 0 ? this.edits.length : index, 0, edit);
  }

  /** The document passes through untouched: no edit was decided (none can be before the head). */
  private refuse(): void {
    this.refused = 'unsupported-xhtml';
    this.edits = [];
    this.mode = 'done';
    this.tokenizer.stop();
  }

  /** Nothing after this point is edited. */
  private finish(): void {
    this.stopLookingForCharset();
    this.mode = 'done';
    this.tokenizer.stop();
  }

  /** The end of the document or of the bytes we may read: inject at the best point so far. */
  private giveUp(): void {
    if (this.mode === 'done') return;
    // An XHTML document whose root element never started (or was cut off at maxBytes).
    if (this.xhtml && this.mode === 'beforeHtml') return this.refuse();
    if (!this.injected && this.fallback === null) this.injectAt(this.tokenizer.boundary);
    this.placeHeadEnd(this.tokenizer.insertionPoint);
    this.finish();
  }
}
