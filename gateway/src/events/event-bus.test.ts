import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEventBus } from './event-bus.js';

const decision = (n: number) => ({ type: 'injection' as const, url: `https://a.test/${n}`, status: 200, plugins: [], reason: 'no-match' as const, csp: null });

test('activity is kept in its own bounded ring: a busy browser neither grows memory nor pushes the log out', () => {
  const bus = createEventBus({ history: 10, activityHistory: 3 });
  bus.emit({ type: 'log', level: 'info', scope: 'gateway', message: 'started' });
  for (let n = 0; n < 1000; n += 1) bus.emit(decision(n));
  const recent = bus.recent();
  assert.deepEqual(
    recent.map((event) => (event.type === 'injection' ? event.url : event.type)),
    ['log', 'https://a.test/997', 'https://a.test/998', 'https://a.test/999'],
  );
});

test('listeners get every event live, with its time', () => {
  const bus = createEventBus({ activityHistory: 1 });
  const seen: string[] = [];
  bus.subscribe((event) => seen.push(`${event.type}@${typeof event.time}`));
  bus.emit(decision(1));
  bus.emit({ type: 'inference', plugin: 'echo', mode: 'local', caller: 'user', origin: null, durationMs: 3, error: null });
  assert.deepEqual(seen, ['injection@string', 'inference@string']);
});
