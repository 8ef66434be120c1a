import { Transform, type TransformCallback } from 'node:stream';

/** The end of a document's head, where it is certain: `</head>` or `<body`. */
export function findHeadEnd(bytes: Buffer): number | null {
  const match = /<\/head\s*>|<body[\s>]/i.exec(bytes.toString('latin1'));
  return match ? match.index : null;
}

/**
 * A stream that holds back only a document's head (up to `maxHeadBytes`), hands it to `rewrite`
 * once, then passes every later byte straight through. Memory stays bounded by the cap whatever
 * the document's size, and the page starts rendering as soon as its head is through.
 */
export function createHeadRewriter(options: { maxHeadBytes: number; rewrite: (head: Buffer) => Buffer }): Transform {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let done = false;
  const release = (stream: Transform, final: boolean): void => {
    const buffered = Buffer.concat(pending, pendingBytes);
    const headEnd = findHeadEnd(buffered);
    if (headEnd === null && !final && pendingBytes < options.maxHeadBytes) return;
    const cut = headEnd ?? buffered.byteLength;
    done = true;
    pending = [];
    stream.push(options.rewrite(buffered.subarray(0, cut)));
    if (cut < buffered.byteLength) stream.push(buffered.subarray(cut));
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (done) return callback(null, chunk);
      pending.push(chunk);
      pendingBytes += chunk.byteLength;
      try {
        release(this, false);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        if (!done) release(this, true);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}
