import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createIdleMoment, IDLE_WAIT_AFTER_CONTENT_LOADED_MS, whenIdle, type IdleSignals } from './page/idle-moment.js';

/** A page whose moments the test plays out: its events and its timer run when the test says. */
function scriptedPage(initial: DocumentReadyState) {
  let state = initial;
  type Listener = (event: { isTrusted: boolean }) => void;
  const listeners = new Map<string, Set<Listener>>();
  const timers = new Map<number, { callback: () => void; ms: number }>();
  let nextTimer = 1;
  const on = (target: string) => (type: string, listener: Listener) => {
    const key = `${target}:${type}`;
    if (!listeners.has(key)) listeners.set(key, new Set());
    listeners.get(key)!.add(listener);
  };
  const signals: IdleSignals = {
    readyState: () => state,
    onDocument: on('document'),
    onWindow: on('window'),
    offDocument: (type, listener) => listeners.get(`document:${type}`)?.delete(listener),
    offWindow: (type, listener) => listeners.get(`window:${type}`)?.delete(listener),
    setTimer: (callback, ms) => {
      timers.set(nextTimer, { callback, ms });
      return nextTimer++;
    },
    clearTimer: (handle) => timers.delete(handle as number),
  };
  const fire = (key: string, isTrusted = true) => [...(listeners.get(key) ?? [])].forEach((listener) => listener({ isTrusted }));
  return {
    signals,
    contentLoaded() {
      state = 'interactive';
      fire('document:DOMContentLoaded');
    },
    loaded() {
      state = 'complete';
      fire('window:load');
    },
    /** What a page script can do: dispatch the events itself, while the document still loads. */
    pageDispatches(key: string) {
      fire(key, false);
    },
    /** How many listeners wait for `key` (`document:DOMContentLoaded`, `window:load`). */
    listening: (key: string) => listeners.get(key)?.size ?? 0,
    /** The timers still set, by delay. */
    pendingTimers: () => [...timers.values()].map(({ ms }) => ms),
    runTimers() {
      const due = [...timers.values()];
      timers.clear();
      due.forEach(({ callback }) => callback());
    },
  };
}

test('idle comes with the load event when it follows DOMContentLoaded closely, and only once', () => {
  const page = scriptedPage('loading');
  const runs: string[] = [];
  whenIdle(page.signals, () => runs.push('idle'));
  assert.deepEqual(page.pendingTimers(), [], 'nothing waits before DOMContentLoaded');
  page.contentLoaded();
  assert.deepEqual(runs, []);
  assert.deepEqual(page.pendingTimers(), [IDLE_WAIT_AFTER_CONTENT_LOADED_MS]);
  page.loaded();
  assert.deepEqual(runs, ['idle']);
  assert.deepEqual(page.pendingTimers(), [], 'the timer is cleared');
  page.runTimers();
  page.loaded();
  assert.deepEqual(runs, ['idle']);
});

test('a load event that does not come in time (an image that never finishes) does not hold idle back', () => {
  const page = scriptedPage('loading');
  const runs: string[] = [];
  whenIdle(page.signals, () => runs.push('idle'));
  page.contentLoaded();
  page.runTimers();
  assert.deepEqual(runs, ['idle']);
  page.loaded();
  assert.deepEqual(runs, ['idle']);
});

test('a document past DOMContentLoaded waits for its load at most the bound; a complete one runs at once', () => {
  const interactive = scriptedPage('interactive');
  const runs: string[] = [];
  whenIdle(interactive.signals, () => runs.push('interactive'));
  assert.deepEqual(interactive.pendingTimers(), [IDLE_WAIT_AFTER_CONTENT_LOADED_MS]);
  interactive.runTimers();
  whenIdle(scriptedPage('complete').signals, () => runs.push('complete'));
  assert.deepEqual(runs, ['interactive', 'complete']);
});

test("a page script's own load and DOMContentLoaded events do not bring idle before the document is parsed", () => {
  const page = scriptedPage('loading');
  const runs: string[] = [];
  whenIdle(page.signals, () => runs.push('idle'));
  page.pageDispatches('window:load');
  page.pageDispatches('document:DOMContentLoaded');
  assert.deepEqual(page.pendingTimers(), [], 'no wait started');
  page.pageDispatches('window:load');
  assert.deepEqual(runs, []);
  page.contentLoaded();
  page.pageDispatches('window:load');
  assert.deepEqual(runs, [], 'an untrusted load after DOMContentLoaded is not the load either');
  page.loaded();
  assert.deepEqual(runs, ['idle']);
});

test('callbacks of one page share its one DOMContentLoaded listener, and each still runs once', () => {
  const page = scriptedPage('loading');
  const whenPageIdle = createIdleMoment(page.signals);
  const runs: string[] = [];
  whenPageIdle(() => runs.push('first'));
  whenPageIdle(() => runs.push('second'));
  assert.equal(page.listening('document:DOMContentLoaded'), 1);
  page.pageDispatches('document:DOMContentLoaded');
  assert.deepEqual(page.pendingTimers(), []);
  page.contentLoaded();
  assert.equal(page.listening('document:DOMContentLoaded'), 0);
  page.loaded();
  whenPageIdle(() => runs.push('after'));
  assert.deepEqual(runs, ['first', 'second', 'after']);
});
