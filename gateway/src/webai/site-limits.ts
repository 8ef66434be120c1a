import { webAiError } from './webai-errors.js';

const MINUTE_MS = 60_000;
/** Past this many tracked origins, origins idle for a minute are forgotten on the next call. */
const SWEEP_AT = 256;

export interface OriginLimitsOptions {
  /** Calls one origin may start per minute (`webai.page_requests_per_minute`), read per call. */
  requestsPerMinute: () => number;
  /** Generations one origin may run at once (`webai.page_max_concurrent`), read per call. */
  maxConcurrent: () => number;
  now?: () => number;
}

export interface OriginLimits {
  /** Counts one call against the origin's minute; throws `webai_rate_limited` past it. */
  admit(origin: string): void;
  /** Takes one of the origin's generation slots (throws past the cap); call the result when done. */
  startGeneration(origin: string): () => void;
}

/**
 * Per-origin limits on what pages may ask of the local model or the cloud: a sliding one-minute
 * window of calls and a cap on concurrent generations. Memory: one timestamp per call in the last
 * minute per origin, and idle origins are swept once many are tracked.
 *
 * @example
 *   const limits = createOriginLimits({ requestsPerMinute: () => 60, maxConcurrent: () => 2 });
 *   limits.admit(origin);
 *   const release = limits.startGeneration(origin);
 *   try { … } finally { release(); }
 */
export function createOriginLimits(options: OriginLimitsOptions): OriginLimits {
  const now = options.now ?? Date.now;
  const records = new Map<string, { calls: number[]; running: number }>();
  const recordOf = (origin: string) => {
    let record = records.get(origin);
    if (!record) {
      if (records.size >= SWEEP_AT) sweep();
      record = { calls: [], running: 0 };
      records.set(origin, record);
    }
    return record;
  };
  const expire = (record: { calls: number[] }) => {
    const since = now() - MINUTE_MS;
    while (record.calls.length > 0 && record.calls[0]! <= since) record.calls.shift();
  };
  const sweep = () => {
    for (const [origin, record] of records) {
      expire(record);
      if (record.calls.length === 0 && record.running === 0) records.delete(origin);
    }
  };
  return {
    admit(origin) {
      const record = recordOf(origin);
      expire(record);
      const limit = options.requestsPerMinute();
      if (record.calls.length >= limit) throw webAiError('webai_rate_limited', `${origin} made ${limit} Web AI calls in the last minute (webai.page_requests_per_minute)`);
      record.calls.push(now());
    },
    startGeneration(origin) {
      const record = recordOf(origin);
      const limit = options.maxConcurrent();
      if (record.running >= limit) throw webAiError('webai_rate_limited', `${origin} already runs ${limit} Web AI generation(s) (webai.page_max_concurrent)`);
      record.running += 1;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        record.running -= 1;
      };
    },
  };
}
