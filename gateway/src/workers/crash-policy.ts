export interface CrashPolicyOptions {
  /** Crashes within `windowMs` that mark the plugin failed. Default 3. */
  limit?: number;
  /** The sliding window for `limit`. Default 5 minutes. */
  windowMs?: number;
  /** Delay before the first restart; doubles per recent crash. Default 500 ms. */
  initialBackoffMs?: number;
  /** Ceiling for the restart delay. Default 30 s. */
  maxBackoffMs?: number;
}

export type CrashVerdict = { action: 'restart'; delayMs: number; recent: number } | { action: 'stop'; recent: number };

export interface CrashPolicy {
  /** Records a crash at `now` and says whether to restart (after how long) or give up. */
  record(now: number): CrashVerdict;
  /** Crashes still inside the window at `now`. */
  recent(now: number): number;
  /** Forgets every crash (the plugin was changed or reset by the user). */
  reset(): void;
}

/**
 * Restart-with-backoff and crash-loop detection, the way Ollama's scheduler and VS Code's extension
 * host treat a runner that keeps dying: restart quickly once, slower each time, and stop after a
 * few crashes in a short window rather than burn CPU on a backend that cannot start.
 *
 * @example
 *   const policy = createCrashPolicy({ limit: 3, windowMs: 300_000 });
 *   policy.record(Date.now()); // → { action: 'restart', delayMs: 500, recent: 1 }
 */
export function createCrashPolicy(options: CrashPolicyOptions = {}): CrashPolicy {
  const limit = options.limit ?? 3;
  const windowMs = options.windowMs ?? 5 * 60_000;
  const initial = options.initialBackoffMs ?? 500;
  const max = options.maxBackoffMs ?? 30_000;
  let crashes: number[] = [];
  const prune = (now: number) => {
    crashes = crashes.filter((time) => now - time < windowMs);
  };
  return {
    record(now) {
      prune(now);
      crashes.push(now);
      const recent = crashes.length;
      if (recent >= limit) return { action: 'stop', recent };
      return { action: 'restart', delayMs: Math.min(max, initial * 2 ** (recent - 1)), recent };
    },
    recent(now) {
      prune(now);
      return crashes.length;
    },
    reset() {
      crashes = [];
    },
  };
}
