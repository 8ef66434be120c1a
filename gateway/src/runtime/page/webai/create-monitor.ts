import type { WebAiEnv } from './webai-env.js';

/**
 * The specs' CreateMonitor: an EventTarget with `ondownloadprogress`, handed to `create()`'s
 * `monitor` callback before anything is fetched. `downloadprogress` events are ProgressEvents with
 * `loaded` from 0 to 1 and `total` 1.
 */
export function createMonitor(env: WebAiEnv): { monitor: CreateMonitor; progress(loaded: number): void } {
  const target = new env.EventTarget() as CreateMonitor;
  let handler: CreateMonitor['ondownloadprogress'] = null;
  Object.defineProperty(target, 'ondownloadprogress', {
    get: () => handler,
    set: (value: unknown) => {
      handler = typeof value === 'function' ? (value as CreateMonitor['ondownloadprogress']) : null;
    },
    enumerable: true,
  });
  const progress = (loaded: number) => {
    const event = new env.ProgressEvent('downloadprogress', { loaded, total: 1, lengthComputable: true });
    if (handler) {
      try {
        handler.call(target, event);
      } catch (error) {
        // As for any event handler: reported, never thrown into create().
        env.world.w.setTimeout(() => {
          throw error;
        }, 0);
      }
    }
    target.dispatchEvent(event);
  };
  return { monitor: target, progress };
}
