/**
 * What all documents together may hold back while their heads are read. Each holds at most
 * `proxy.max_head_bytes`, but a site (or a local program) that opens many documents whose heads
 * never end (a `<!--` that never closes, sent to a reader that does not read) grew the gateway by
 * that much per document. Over the cap, a document holding more than 64 KiB stops looking: its
 * markup goes where the head scanner can put it now, and its bytes stream on to its reader (what a
 * reader that does not read leaves in its response's buffers is not counted here).
 */
export interface HeldBytes {
  /** Changes one document's share by `delta` (negative: released); false when the total is now over the cap. */
  add(delta: number): boolean;
  /** Bytes held back now, over every document. */
  readonly held: number;
}

export function createHeldBytes(maxBytes: number): HeldBytes {
  let held = 0;
  return {
    add(delta) {
      held += delta;
      return held <= maxBytes;
    },
    get held() {
      return held;
    },
  };
}
