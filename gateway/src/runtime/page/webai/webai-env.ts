import type { PageWorld } from '../page-world.js';

/** `navigator.userActivation` (not in every browser, nor in TypeScript's DOM types everywhere). */
interface UserActivation {
  readonly isActive: boolean;
}

/**
 * The built-ins the Web AI globals use, taken when the runtime starts (before page scripts can
 * replace them), and the bridge they call.
 */
export interface WebAiEnv {
  world: PageWorld;
  DOMException: typeof DOMException;
  ReadableStream: typeof ReadableStream;
  EventTarget: typeof EventTarget;
  ProgressEvent: typeof ProgressEvent;
  AbortController: typeof AbortController;
  TextDecoder: typeof TextDecoder;
  /** Whether the page has transient user activation now (true where the browser cannot tell). */
  userActive(): boolean;
}

export function captureWebAiEnv(world: PageWorld): WebAiEnv {
  const w = world.w;
  const activation = (w.navigator as Navigator & { userActivation?: UserActivation }).userActivation;
  return {
    world,
    DOMException: w.DOMException,
    ReadableStream: w.ReadableStream,
    EventTarget: w.EventTarget,
    ProgressEvent: w.ProgressEvent,
    AbortController: w.AbortController,
    TextDecoder: w.TextDecoder,
    userActive: () => (activation ? activation.isActive : true),
  };
}
