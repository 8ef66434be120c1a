import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEventBus } from '../../events/event-bus.js';
import { eventRoutes, MAX_SUBSCRIBER_LAG } from './event-routes.js';

describe('GET /api/events', () => {
  it('a subscriber that stops reading loses its oldest events, not the gateway its memory', async () => {
    // A dashboard tab that is frozen keeps its stream open and reads nothing, while every page
    // load the browser makes is an event.
    const bus = createEventBus({ history: 1, activityHistory: 1 });
    const response = await eventRoutes(bus).request('/');
    const reader = response.body!.getReader();
    const EMITTED = MAX_SUBSCRIBER_LAG * 5;
    for (let index = 0; index < EMITTED; index++) bus.emit({ type: 'log', level: 'info', scope: 'test', message: `m${index}` });
    const decoder = new TextDecoder();
    const seen: number[] = [];
    let text = '';
    while (!seen.includes(EMITTED - 1)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      for (const match of text.matchAll(/"message":"m(\d+)"/g)) seen.push(Number(match[1]));
      text = text.slice(text.lastIndexOf('\n') + 1);
    }
    await reader.cancel();
    assert.ok(seen.includes(EMITTED - 1), 'the newest event arrives');
    assert.ok(seen.length <= MAX_SUBSCRIBER_LAG + 8, `${seen.length} of ${EMITTED} events were queued for one subscriber that read none`);
    assert.deepEqual(seen, [...seen].sort((a, b) => a - b), 'in order');
  });

  it('ends the stream once the bus closes, after what was queued; one opened after that replays the history and ends', async () => {
    const bus = createEventBus();
    bus.emit({ type: 'log', level: 'info', scope: 'test', message: 'before' });
    const open = await eventRoutes(bus).request('/');
    bus.emit({ type: 'log', level: 'info', scope: 'test', message: 'last' });
    bus.close();
    const text = await open.text();
    assert.match(text, /"message":"before"[\s\S]*"message":"last"/);
    const late = await eventRoutes(bus).request('/');
    assert.match(await late.text(), /"message":"last"/);
  });
});
