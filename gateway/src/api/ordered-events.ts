import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { ApiEnv } from './api-env.js';

/** Writes one server-sent event (JSON data); resolves once it and every earlier one are written. */
export type SendEvent = (event: string, data: unknown) => Promise<void>;

/**
 * Answers as server-sent events written in order (a slow client makes the queue grow only as fast
 * as `work` produces). `work`'s signal aborts when the client goes away; a failure after that is
 * the client's own doing and answers nothing, any other goes to `onError`.
 *
 * @example
 *   return orderedEvents(c, async (send, signal) => send('result', await run(signal)), (error, send) => send('error', toBody(error)));
 */
export function orderedEvents(
  c: Context<ApiEnv>,
  work: (send: SendEvent, signal: AbortSignal) => Promise<void>,
  onError: (error: unknown, send: SendEvent) => Promise<void>,
): Response {
  const cancel = new AbortController();
  return streamSSE(c, async (stream) => {
    stream.onAbort(() => cancel.abort());
    // Events sent while a write is under way go out together in the next one: a cloud answer of a
    // million one-character events was a million writes through the web stream and the socket.
    let writing = Promise.resolve();
    let queued = '';
    let batch: Promise<void> | null = null;
    const send: SendEvent = (event, data) => {
      // JSON.stringify escapes every line break, so the data is one `data:` line.
      queued += `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
      batch ??= writing = writing.then(() => {
        const text = queued;
        queued = '';
        batch = null;
        return stream.write(text).then(() => undefined);
      });
      return batch;
    };
    try {
      await work(send, cancel.signal);
    } catch (error) {
      if (!cancel.signal.aborted) await onError(error, send);
    }
  });
}
