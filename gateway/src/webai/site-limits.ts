import { siteOf } from '../net/site-of.js';
import { workerErrors } from '../workers/worker-errors.js';
import { webAiError } from './webai-errors.js';

const MINUTE_MS = 60_000;
/** Past this many tracked sites, sites idle for a minute are forgotten on the next call. */
const SWEEP_AT = 256;

export interface SiteLimitsOptions {
  /** Calls one site may start per minute (`webai.page_requests_per_minute`), read per call. */
  requestsPerMinute: () => number;
  /** Generations one site may run at once (`webai.page_max_concurrent`), read per call. */
  maxConcurrent: () => number;
  now?: () => number;
}

export interface SiteLimits {
  /** Counts one call against the minute of the origin's site; throws `webai_rate_limited` past it. */
  admit(origin: string): void;
  /**
   * Takes one of the generation slots of the origin's site, waiting its turn while they are all
   * taken (a page's `Promise.all` over its paragraphs is ordinary use, not a flood); throws past
   * the turns a site may have waiting, and rejects with `cancelled` if `signal` aborts first. Call
   * the result when done.
   */
  startGeneration(origin: string, signal?: AbortSignal): Promise<() => void>;
}

/** Turns a site may have waiting for a generation slot, per slot (`webai.page_max_concurrent`). */
const WAITING_PER_SLOT = 8;

interface SiteRecord {
  calls: number[];
  running: number;
  /** Generations waiting for a slot, first come first served. */
  waiting: Array<() => void>;
}

/**
 * Per-site limits on what pages may ask of the local model or the cloud: a sliding one-minute
 * window of calls and a cap on concurrent generations. A site is the origin's registrable domain
 * (net/site-of.ts), so subdomains, which one owner makes at will, share one budget. Memory: one
 * timestamp per call in the last minute per site, and idle sites are swept once many are tracked.
 *
 * @example
 *   const limits = createSiteLimits({ requestsPerMinute: () => 60, maxConcurrent: () => 2 });
 *   limits.admit(origin);
 *   const release = limits.startGeneration(origin);
 *   try { … } finally { release(); }
 */
export function createSiteLimits(options: SiteLimitsOptions): SiteLimits {
  const now = options.now ?? Date.now;
  const records = new Map<string, SiteRecord>();
  const recordOf = (site: string) => {
    let record = records.get(site);
    if (!record) {
      if (records.size >= SWEEP_AT) sweep();
      record = { calls: [], running: 0, waiting: [] };
      records.set(site, record);
    }
    return record;
  };
  const expire = (record: { calls: number[] }) => {
    const since = now() - MINUTE_MS;
    while (record.calls.length > 0 && record.calls[0]! <= since) record.calls.shift();
  };
  const sweep = () => {
    for (const [site, record] of records) {
      expire(record);
      if (record.calls.length === 0 && record.running === 0 && record.waiting.length === 0) records.delete(site);
    }
  };
  /** Resolves when a release hands this turn the slot; a turn whose caller gave up leaves the line. */
  const waitForSlot = (record: SiteRecord, signal: AbortSignal | undefined) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(workerErrors.cancelled());
      const turn = () => {
        signal?.removeEventListener('abort', leave);
        resolve();
      };
      const leave = () => {
        const index = record.waiting.indexOf(turn);
        if (index >= 0) record.waiting.splice(index, 1);
        reject(workerErrors.cancelled());
      };
      signal?.addEventListener('abort', leave, { once: true });
      record.waiting.push(turn);
    });
  return {
    admit(origin) {
      const site = siteOf(origin);
      const record = recordOf(site);
      expire(record);
      const limit = options.requestsPerMinute();
      if (record.calls.length >= limit) throw webAiError('webai_rate_limited', `${site} made ${limit} Web AI calls in the last minute (webai.page_requests_per_minute)`);
      record.calls.push(now());
    },
    async startGeneration(origin, signal) {
      const site = siteOf(origin);
      const record = recordOf(site);
      const limit = options.maxConcurrent();
      // Behind those already waiting, whatever is free this instant: first come, first served.
      if (record.running >= limit || record.waiting.length > 0) {
        if (record.waiting.length >= WAITING_PER_SLOT * limit) {
          throw webAiError('webai_rate_limited', `${site} already runs ${limit} Web AI generation(s) and has ${record.waiting.length} waiting (webai.page_max_concurrent)`);
        }
        // The release that wakes this turn hands it its slot: `running` already counts it.
        await waitForSlot(record, signal);
      } else record.running += 1;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const next = record.waiting.shift();
        if (next) next();
        else record.running -= 1;
      };
    },
  };
}
