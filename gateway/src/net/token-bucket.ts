export interface TokenBucketOptions {
  /** Tokens added per second, continuously (fractions allowed). */
  ratePerSecond: number;
  /** The most tokens held: how many takes may happen at once after a quiet period. */
  burst: number;
  /** Milliseconds, monotonic; `performance.now` by default (tests pass their own clock). */
  now?: () => number;
}

export interface TokenBucket {
  /** Spends a token if one is left; false when the rate is exceeded. */
  take(): boolean;
}

/**
 * A token bucket: up to `burst` takes at once, then `ratePerSecond` on average. O(1) memory.
 *
 * @example const mints = createTokenBucket({ ratePerSecond: 20, burst: 200 }); if (!mints.take()) refuse();
 */
export function createTokenBucket(options: TokenBucketOptions): TokenBucket {
  const now = options.now ?? (() => performance.now());
  let tokens = options.burst;
  let updatedAt = now();
  return {
    take() {
      const time = now();
      tokens = Math.min(options.burst, tokens + ((time - updatedAt) / 1000) * options.ratePerSecond);
      updatedAt = time;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}
