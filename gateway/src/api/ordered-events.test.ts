import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Hono } from 'hono';
import { createSseParser } from '../inference/sse-parser.js';
import type { ApiEnv } from './api-env.js';
import { orderedEvents } from './ordered-events.js';

/** The events of a server-sent event stream, read as the gateway reads a cloud server's. */
const eventsOf = (text: string) => {
  const parser = createSseParser({ maxEventChars: 1 << 20 });
  return [...parser.push(text), ...parser.end()].map(({ event, data }) => ({ event, data: JSON.parse(data) as unknown }));
};

test('events sent in one burst arrive whole and in order, each send settling once it is written', async () => {
  const app = new Hono<ApiEnv>();
  const settled: number[] = [];
  app.get('/', (c) =>
    orderedEvents(
      c,
      async (send) => {
        // Sent in one turn, as a cloud answer of many tiny events relays them: written in batches.
        const sends = Array.from({ length: 5000 }, (_, i) => send('chunk', { i, text: 'line\nbreak' }).then(() => void settled.push(i)));
        await Promise.all(sends);
        await send('result', 'done');
      },
      async (error, send) => send('error', String(error)),
    ),
  );
  const response = await app.request('/');
  const events = eventsOf(await response.text());
  assert.equal(events.length, 5001);
  assert.deepEqual(
    events.slice(0, -1).map((event) => event.data),
    Array.from({ length: 5000 }, (_, i) => ({ i, text: 'line\nbreak' })),
  );
  assert.ok(events.slice(0, -1).every((event) => event.event === 'chunk'));
  assert.deepEqual(events.at(-1), { event: 'result', data: 'done' });
  assert.deepEqual(settled, Array.from({ length: 5000 }, (_, i) => i));
});
