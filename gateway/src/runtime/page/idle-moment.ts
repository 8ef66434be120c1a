/**
 * How long after DOMContentLoaded `document_idle` waits for the load event at most: the bound
 * Chrome uses for extensions' `document_idle` scripts.
 */
export const IDLE_WAIT_AFTER_CONTENT_LOADED_MS = 200;

/** What the listeners read of an event: only the browser's own events count, never a page's `dispatchEvent`. */
type Listener = (event: { isTrusted: boolean }) => void;
type Listen = (type: string, listener: Listener) => void;

/** What `whenIdle` reads of the page: the document's state and events, the window's load, a timer. */
export interface IdleSignals {
  readyState(): DocumentReadyState;
  onDocument: Listen;
  onWindow: Listen;
  offDocument: (type: string, listener: Listener) => void;
  offWindow: (type: string, listener: Listener) => void;
  setTimer(callback: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

/**
 * Calls `callback` once, at the `document_idle` moment as Chrome picks it for extensions: after
 * DOMContentLoaded, at the window's load event or IDLE_WAIT_AFTER_CONTENT_LOADED_MS later,
 * whichever comes first. A plugin script added before the load event holds that event until the
 * script has come and run; added after it, the page's load is its own (and a page whose images never
 * finish still gets its plugins). Events a page script dispatches itself are not taken for the
 * browser's: they would run plugins before the document is parsed.
 */
export function whenIdle(signals: IdleSignals, callback: () => void): void {
  if (signals.readyState() === 'complete') {
    callback();
    return;
  }
  let done = false;
  let timer: unknown = null;
  const run = () => {
    if (done) return;
    done = true;
    if (timer !== null) signals.clearTimer(timer);
    signals.offWindow('load', onLoad);
    callback();
  };
  const onLoad: Listener = (event) => {
    if (event.isTrusted) run();
  };
  const startWaiting = () => {
    signals.onWindow('load', onLoad);
    timer = signals.setTimer(run, IDLE_WAIT_AFTER_CONTENT_LOADED_MS);
  };
  if (signals.readyState() !== 'loading') {
    startWaiting();
    return;
  }
  const onContentLoaded: Listener = (event) => {
    if (!event.isTrusted) return;
    signals.offDocument('DOMContentLoaded', onContentLoaded);
    startWaiting();
  };
  signals.onDocument('DOMContentLoaded', onContentLoaded);
}
