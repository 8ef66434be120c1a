/**
 * How long after DOMContentLoaded `document_idle` waits for the load event at most: the bound
 * Chrome uses for extensions' `document_idle` scripts.
 */
export const IDLE_WAIT_AFTER_CONTENT_LOADED_MS = 200;

/** What the listeners read of an event: only the browser's own events count, never a page's `dispatchEvent`. */
type Listener = (event: { isTrusted: boolean }) => void;
type Listen = (type: string, listener: Listener) => void;

/** What the idle moment reads of the page: the document's state and events, the window's load, a timer. */
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
 * The page's `document_idle` moment, for any number of callbacks: each is called once, as Chrome
 * picks the moment for extensions: after DOMContentLoaded, at the window's load event or
 * IDLE_WAIT_AFTER_CONTENT_LOADED_MS later, whichever comes first. A plugin script added before the
 * load event holds that event until the script has come and run; added after it, the page's load is
 * its own (and a page whose images never finish still gets its plugins).
 *
 * The document is "interactive" a moment before DOMContentLoaded (deferred scripts run in between):
 * until that event, one listener for all callbacks, it counts as still loading. Events a page script
 * dispatches itself are not taken for the browser's: they would run plugins before the document is
 * parsed.
 */
export function createIdleMoment(signals: IdleSignals): (callback: () => void) => void {
  let contentLoaded = signals.readyState() !== 'loading';
  const waiting: Array<() => void> = [];
  if (!contentLoaded) {
    const onContentLoaded: Listener = (event) => {
      if (!event.isTrusted) return;
      signals.offDocument('DOMContentLoaded', onContentLoaded);
      contentLoaded = true;
      waiting.splice(0).forEach((startWaiting) => startWaiting());
    };
    signals.onDocument('DOMContentLoaded', onContentLoaded);
  }
  return (callback) => {
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
    if (contentLoaded) startWaiting();
    else waiting.push(startWaiting);
  };
}

/** One callback at the idle moment of the page `signals` reads (see createIdleMoment). */
export function whenIdle(signals: IdleSignals, callback: () => void): void {
  createIdleMoment(signals)(callback);
}
