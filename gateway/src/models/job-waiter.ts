import type { Job } from './download-job.js';
import { ModelError } from './model-error.js';
import type { EnsureOptions } from './model-types.js';

/**
 * One caller's wait for a shared job: its progress listener, and its own cancellation, which
 * withdraws only this caller; `onAbandoned` runs when the last waiter has gone (the job is then stopped).
 */
export function waitForJob(job: Job, ensureOptions: EnsureOptions, onAbandoned: () => void): Promise<string> {
  const { filename } = job.declaration;
  const listener = ensureOptions.onProgress;
  if (listener) {
    job.listeners.add(listener);
    if (job.published) listener(job.last);
  }
  job.waiters += 1;
  const signal = ensureOptions.signal;
  return new Promise<string>((resolvePath, reject) => {
    let settled = false;
    const leave = () => {
      settled = true;
      if (listener) job.listeners.delete(listener);
      signal?.removeEventListener('abort', onAbort);
      job.waiters -= 1;
    };
    const onAbort = () => {
      if (settled) return;
      leave();
      if (job.waiters === 0) {
        // Nobody wants it any more: stop, leaving the part resumable; new callers start afresh.
        onAbandoned();
        job.controller.abort(new ModelError('aborted', 'cancelled'));
      }
      reject(new ModelError('aborted', `Waiting for ${filename} was cancelled`));
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    job.promise.then(
      (path) => {
        if (settled) return;
        leave();
        resolvePath(path);
      },
      (error: unknown) => {
        if (settled) return;
        leave();
        reject(error);
      },
    );
  });
}
