import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { EventBus, GatewayEvent } from '../../events/event-bus.js';
import type { ApiEnv } from '../api-env.js';

/**
 * Events one subscriber may fall behind by. A reader that stopped (a frozen dashboard tab) loses
 * the oldest beyond this, rather than the gateway keeping every event for it.
 */
export const MAX_SUBSCRIBER_LAG = 1000;

/**
 * `GET /api/events`: server-sent events of logs, download progress and worker state.
 * Recent history is replayed first so a dashboard opened mid-download sees where it is.
 */
export function eventRoutes(bus: EventBus) {
  return new Hono<ApiEnv>().get('/', (c) =>
    streamSSE(c, async (stream) => {
      const queue: GatewayEvent[] = [...bus.recent()];
      let wake: (() => void) | null = null;
      // At shutdown the stream ends once what is queued was sent: a reader sees its end, not a cut connection.
      let ended = false;
      const unsubscribe = bus.subscribe(
        (event) => {
          if (queue.length >= MAX_SUBSCRIBER_LAG) queue.shift();
          queue.push(event);
          wake?.();
        },
        () => {
          ended = true;
          wake?.();
        },
      );
      stream.onAbort(unsubscribe);
      try {
        while (!stream.aborted) {
          const event = queue.shift();
          if (event) {
            await stream.writeSSE({ event: event.type, data: JSON.stringify(event) });
            continue;
          }
          if (ended) break;
          // Park until the next event, with a heartbeat so proxies and idle timers keep the stream.
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, 15_000).unref();
          });
          wake = null;
          if (queue.length === 0 && !ended && !stream.aborted) await stream.write(': keep-alive\n\n');
        }
      } finally {
        unsubscribe();
      }
    }),
  );
}
