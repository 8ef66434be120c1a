import type { Logger } from '../events/logger.js';

export interface ShutdownSteps {
  logger: Logger;
  /** In order, each awaited: what must stop before the rest (plugin watcher, downloads, WebSocket upgrades). */
  first: Array<() => unknown>;
  /** Stopped together (connections, workers, proxy, API server); a failure does not hold the others up. */
  together: Array<() => Promise<unknown>>;
  /** In order, once everything above has stopped (system proxy, runtime.json). */
  cleanUp: Array<() => Promise<unknown>>;
  /** After the "Stopped" line: closes the log and gives the data dir up. */
  release: () => Promise<void>;
}

/** One shutdown however many times it is asked for; `closed` resolves when it has finished. */
export function createShutdown({ logger, first, together, cleanUp, release }: ShutdownSteps): { stop: () => Promise<void>; closed: Promise<void> } {
  let markClosed = () => {};
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      logger.info('Shutting down');
      for (const step of first) await step();
      await Promise.allSettled(together.map((step) => step()));
      for (const step of cleanUp) await step();
      logger.info('Stopped');
      await release();
      markClosed();
    })();
    return stopping;
  };
  return { stop, closed };
}
