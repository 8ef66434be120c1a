/**
 * How long after DOMContentLoaded `document_idle` waits for the load event at most: the bound
 * Chrome uses for extensions' `document_idle` scripts.
 */
export const IDLE_WAIT_AFTER_CONTENT_LOADED_MS = 200;

type Listen = (type: string, listener: () => void, options?: { once?: boolean }) => void;

/** What `whenIdle` reads of the page: the document's state and events, the window's load, a timer. */
export interface IdleSignals {
  readyState(): DocumentReadyState;
  onDocument: Listen;
  onWindow: Listen;
  offWindow: (type: string, listener: () => void) => void;
  setTimer(callback: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

/**
 * Calls `callback` once, at the `document_idle` moment as Chrome picks it for extensions: after
 * DOMContentLoaded, at the window's load event or IDLE_WAIT_AFTER_CONTENT_LOADED_MS later,
 * whichever comes first. A plugin script added before the load event holds that event until the
 * script has come and run; added after it, the page's load is its own (and a page whose images never
 * finish still gets its plugins).
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
    signals.offWindow('load', run);
    callback();
  };
  signals.onWindow('load', run);
  const startWaiting = () => {
    timer = signals.setTimer(run, IDLE_WAIT_AFTER_CONTENT_LOADED_MS);
  };
  if (signals.readyState() === 'loading') signals.onDocument('DOMContentLoaded', startWaiting, { once: true });
  else startWaiting();
}
