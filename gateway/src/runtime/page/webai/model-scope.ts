import type { WebAiEnv } from './webai-env.js';
import { destroyedError, destroyingReason } from './webai-errors.js';

/**
 * One built-in AI object's lifetime: `destroy()` aborts every call in flight (AbortError) and
 * makes later calls fail (InvalidStateError); each call runs under its own signal and the
 * object's. Streams are built here too, so every API cancels the same way.
 */
export class ModelScope {
  private readonly controller: AbortController;
  private destroyed = false;

  /**
   * @param lifetime the signal of the `create()` (or `clone()`) that made the object: the specs
   *   destroy the object when it aborts, with its reason, however long after it was made.
   */
  constructor(
    private readonly env: WebAiEnv,
    lifetime?: AbortSignal,
  ) {
    this.controller = new env.AbortController();
    if (!lifetime) return;
    if (lifetime.aborted) {
      this.destroy(lifetime.reason);
      return;
    }
    // Let go of the page's signal once destroyed: one signal may outlive many objects made with it.
    const onAbort = () => this.destroy(lifetime.reason);
    lifetime.addEventListener('abort', onAbort, { once: true });
    this.controller.signal.addEventListener('abort', () => lifetime.removeEventListener('abort', onAbort), { once: true });
  }

  get isDestroyed(): boolean {
    return this.destroyed;
  }

  /** Calls in flight reject with `reason` (an AbortError by default); later ones are InvalidStateError. */
  destroy(reason: unknown = destroyingReason(this.env)): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.controller.abort(reason);
  }

  /** The signal one call runs under; throws when destroyed or already aborted (check before any work). */
  begin(signal: AbortSignal | undefined): AbortSignal {
    if (this.destroyed) throw destroyedError(this.env);
    if (signal && signal.aborted) throw signal.reason;
    return signal ? anySignal(this.env, [signal, this.controller.signal]) : this.controller.signal;
  }

  /** A promise-returning call: its synchronous refusals become rejections, like the specs' methods. */
  run<T>(signal: AbortSignal | undefined, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return work(this.begin(signal));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * A `...Streaming()` call: a ReadableStream of text chunks that `produce` enqueues. Cancelling the
   * stream aborts the request; an abort or failure errors the stream with its reason.
   */
  stream(signal: AbortSignal | undefined, produce: (signal: AbortSignal, enqueue: (chunk: string) => void) => Promise<void>): ReadableStream<string> {
    const env = this.env;
    let callSignal: AbortSignal;
    let failure: unknown = null;
    try {
      callSignal = this.begin(signal);
    } catch (error) {
      failure = error;
      callSignal = new env.AbortController().signal;
    }
    const cancel = new env.AbortController();
    const combined = anySignal(env, [callSignal, cancel.signal]);
    return new env.ReadableStream<string>({
      start(controller) {
        if (failure !== null) {
          controller.error(failure);
          return;
        }
        produce(combined, (chunk) => controller.enqueue(chunk)).then(
          () => controller.close(),
          (error: unknown) => {
            if (!cancel.signal.aborted) controller.error(error);
          },
        );
      },
      cancel(reason) {
        cancel.abort(reason);
      },
    });
  }
}

/** A signal that aborts when any of `signals` does, with its reason (AbortSignal.any where it exists). */
export function anySignal(env: WebAiEnv, signals: AbortSignal[]): AbortSignal {
  const any = (env.world.w.AbortSignal as { any?: (signals: AbortSignal[]) => AbortSignal }).any;
  if (typeof any === 'function') return any.call(env.world.w.AbortSignal, signals);
  const controller = new env.AbortController();
  for (const signal of signals) {
    if (signal.aborted) {
      controller.abort(signal.reason);
      break;
    }
    signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  }
  return controller.signal;
}
