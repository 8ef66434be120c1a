import { Transform, type TransformCallback } from 'node:stream';
import type { SkipReason } from '../events/activity-events.js';
import { ByteQueue } from './byte-queue.js';
import { HeadScanner } from './head-scanner.js';
import type { HeldBytes } from './held-bytes.js';
import { startsWithUtf16Bom } from './html-injection.js';
import { SNIFF_WINDOW, sniffHtml } from './html-sniffing.js';
import type { ByteEdit, MetaCspRewrite } from './meta-csp.js';

export interface HeadRewriterOptions {
  /** How far into a document to look (`proxy.max_head_bytes`); later bytes always stream. */
  maxHeadBytes: number;
  /** The markup to inject: ASCII, or its bytes; opaque here. */
  markup: string | Buffer;
  /** Markup for the end of the head, after the page's own head content (head-scanner.ts). */
  headEnd?: string | Buffer;
  /** Maps each CSP meta tag's policy to its replacement, or null to remove the tag. */
  rewriteMetaCsp: MetaCspRewrite;
  /** The Content-Type names an encoding browsers honour: no waiting for a `<meta charset>` (head-scanner). */
  transportCharset?: boolean;
  /** An XHTML document: injected into only where the XML parser agrees (head-scanner). */
  xml?: boolean;
  /**
   * The document came with no type: the browser shows it as HTML only if its first bytes look
   * like HTML (html-sniffing.ts). Others pass through untouched, and the injected one still must.
   */
  sniffHtml?: boolean;
  /** Told, once, when the body shows the document cannot take the markup and it passes through untouched. */
  onPassThrough?: (reason: PassThroughReason) => void;
  /** What every document together may hold back (held-bytes.ts); over it, this one stops looking. */
  heldBytes?: HeldBytes;
  /** How long the site may pause before the markup stops waiting for a `<meta charset>` (CHARSET_WAIT_MS). */
  charsetWaitMs?: number;
}

/** Why a document planned for injection was left untouched after all, found in its bytes. */
export type PassThroughReason = Extract<SkipReason, 'unsupported-charset' | 'unsupported-xhtml' | 'not-html'>;

/**
 * A stream that injects markup into a document's head and rewrites its CSP meta tags while the
 * bytes flow: each byte is scanned once (head-scanner), and only bytes whose fate is still open
 * are held back — the tag being read, or, near the top, up to a `<meta charset>` that may still
 * come; with a head end to place, also the comment or the element text (a `<script>`'s, say) being
 * read, which it cannot go inside — never more than `maxHeadBytes`. Past the head every chunk
 * passes straight through.
 *
 * @example
 *   Readable.from(chunks).pipe(new HeadRewriter({ maxHeadBytes: 1 << 20, markup: '<script src=/x></script>', rewriteMetaCsp: () => null }));
 */
export class HeadRewriter extends Transform {
  private readonly scanner: HeadScanner;
  /** Received bytes not yet passed on, starting at absolute offset `emitted`. */
  private readonly held = new ByteQueue();
  private emitted = 0;
  private received = 0;
  /** The first bytes, until they tell a UTF-16 BOM, or HTML in a document with no type (`sniffHtml`); null once told. */
  private sniffed: Buffer | null = Buffer.alloc(0);
  /** Where the bytes that made a document with no type HTML start, until an edit is made: one before them must keep it HTML. */
  private signatureAt = -1;
  private passThrough = false;
  /** This document's share of `heldBytes`. */
  private counted = 0;
  /** Ends the wait for a `<meta charset>` when the site pauses before it could come (CHARSET_WAIT_MS). */
  private charsetWait: NodeJS.Timeout | null = null;

  constructor(private readonly options: HeadRewriterOptions) {
    super();
    this.scanner = new HeadScanner({
      maxBytes: options.maxHeadBytes,
      markup: options.markup,
      ...(options.headEnd ? { headEnd: options.headEnd } : {}),
      rewriteMetaCsp: options.rewriteMetaCsp,
      transportCharset: options.transportCharset ?? false,
      xml: options.xml ?? false,
    });
  }

  /** Bytes the scanner examined: at most about one per byte of the document's head, for tests. */
  get work(): number {
    return this.scanner.work;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.passThrough) return callback(null, chunk);
    if (this.sniffed) {
      this.sniffed = Buffer.concat([this.sniffed, chunk]);
      const refusal = this.tellStart(false);
      if (refusal === undefined) return callback();
      chunk = this.sniffed;
      this.sniffed = null;
      if (refusal) {
        this.stopRewriting(refusal);
        return callback(null, chunk);
      }
    }
    this.scan(chunk);
    callback();
  }

  /**
   * What the first bytes tell: a reason to leave the document alone, null to go on, undefined
   * while they cannot tell yet (`complete`: no more come). Holds at most 512 bytes and a chunk.
   */
  private tellStart(complete: boolean): PassThroughReason | null | undefined {
    const start = this.sniffed ?? Buffer.alloc(0);
    if (this.options.sniffHtml) {
      const sniffed = sniffHtml(start, complete);
      if (sniffed === 'undecided') return undefined;
      if (sniffed === 'other') return 'not-html';
      this.signatureAt = start.findIndex((byte) => byte === 0x3c);
      return null;
    }
    if (start.byteLength < 2 && !complete) return undefined;
    return startsWithUtf16Bom(start) ? 'unsupported-charset' : null;
  }

  private scan(chunk: Buffer): void {
    this.accept(chunk);
    this.passOnSettled();
    this.waitForCharset();
  }

  /** Bytes received: scanned, and held until their fate is settled. */
  private accept(chunk: Buffer): void {
    this.scanner.write(chunk);
    this.held.push(chunk);
    this.received += chunk.byteLength;
  }

  /** Passes on what the scanner has settled; over the cap on what all documents hold, a document holding much stops looking. */
  private passOnSettled(): void {
    this.release(this.scanner.settled);
    if (!this.countHeld() && this.counted > HELD_FLOOR) {
      this.scanner.stopLooking();
      this.release(Infinity);
      this.countHeld();
    }
    if (this.scanner.done && this.emitted === this.received) this.stopRewriting(this.scanner.refusal);
  }

  /**
   * While bytes wait for a `<meta charset>` that may still come, a pause of the site's ends the wait:
   * a site that sends its head early (and names no charset) would otherwise have its stylesheets
   * and scripts asked for only once it sent the rest, where the browser direct asks for them at once.
   */
  private waitForCharset(): void {
    if (this.charsetWait) clearTimeout(this.charsetWait);
    this.charsetWait = null;
    if (this.passThrough || !this.scanner.waitingForCharset) return;
    const received = this.received;
    this.charsetWait = setTimeout(() => {
      this.charsetWait = null;
      // Timers run before the sockets are read: when the gateway itself was busy past the wait, what
      // the site sent meanwhile is read first, and a chunk that came ends this wait instead.
      setImmediate(() => {
        if (this.received !== received || this.passThrough || this.destroyed) return;
        this.scanner.stopWaitingForCharset();
        this.passOnSettled();
      });
    }, this.options.charsetWaitMs ?? CHARSET_WAIT_MS).unref();
  }

  /** Brings this document's share of `heldBytes` up to date; false when the total is over the cap. */
  private countHeld(): boolean {
    const holding = this.received - this.emitted;
    const within = this.options.heldBytes?.add(holding - this.counted) ?? true;
    this.counted = holding;
    return within;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.charsetWait) clearTimeout(this.charsetWait);
    this.options.heldBytes?.add(-this.counted);
    this.counted = 0;
    callback(error);
  }

  override _flush(callback: TransformCallback): void {
    if (this.charsetWait) clearTimeout(this.charsetWait);
    this.charsetWait = null;
    if (this.sniffed) {
      // A document too short to tell by until its end.
      const refusal = this.tellStart(true);
      const start = this.sniffed;
      this.sniffed = null;
      if (refusal) {
        this.stopRewriting(refusal);
        this.push(start);
      } else {
        this.accept(start);
      }
    }
    if (!this.passThrough) {
      this.scanner.end();
      this.release(Infinity);
      this.stopRewriting(this.scanner.refusal);
    }
    this.countHeld();
    callback();
  }

  /** From here on every chunk passes straight through; `reason` is set when nothing was edited. */
  private stopRewriting(reason: PassThroughReason | null): void {
    this.passThrough = true;
    if (reason) this.options.onPassThrough?.(reason);
  }

  /** Passes on every byte before `settled`, with the edits decided for them. */
  private release(settled: number): void {
    for (const edit of this.scanner.takeEdits(settled)) this.apply(edit);
    this.forward(Math.min(settled, this.received), true);
  }

  private apply(edit: ByteEdit): void {
    this.forward(edit.start, true);
    if (this.signatureAt >= 0) {
      // Markup that goes before the bytes the browser told HTML by is what it tells by now: the
      // runtime's `<script` is HTML, a `<meta charset>` copy in front of it is not, so a `<head>`
      // goes first. The page's tree is the same: its head starts there either way.
      if (edit.start <= this.signatureAt && sniffHtml(textStart(edit.text), true) !== 'html') this.push(Buffer.from('<head>', 'latin1'));
      this.signatureAt = -1;
    }
    if (edit.text.length > 0) this.push(typeof edit.text === 'string' ? Buffer.from(edit.text, 'latin1') : edit.text);
    this.forward(edit.end, false);
  }

  /** Moves the held bytes up to absolute offset `to` out: pushed on, or dropped. */
  private forward(to: number, keep: boolean): void {
    if (to <= this.emitted) return;
    this.held.take(to - this.emitted, keep ? this.pushPiece : null);
    this.emitted = to;
  }

  private readonly pushPiece = (piece: Buffer): void => {
    this.push(piece);
  };
}

/**
 * How long a site may pause, while the markup waits for a `<meta charset>` in the first 1,024
 * bytes, before it goes in without one. Those bytes come in one packet unless the site flushed
 * early on purpose; what comes after the pause is found all the same by Chromium while it is head
 * content (the markup is), and only a declaration after the start of the body is then missed.
 */
const CHARSET_WAIT_MS = 100;

/** The first bytes of an edit's text, enough to sniff. */
const textStart = (text: string | Buffer): Buffer => (typeof text === 'string' ? Buffer.from(text.slice(0, SNIFF_WINDOW), 'latin1') : text.subarray(0, SNIFF_WINDOW));

/**
 * Over the cap on what all documents hold, only a document holding more than this stops looking:
 * the ones filling the cap, not an ordinary page that happens to arrive then (cut short, it could
 * lose its DOCTYPE's place, its late `<meta charset>` or its meta policy's rewrite).
 */
const HELD_FLOOR = 64 * 1024;
