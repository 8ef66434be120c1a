import { HTTPError } from 'ky';
import { parseRetryAfter } from '../net/retry-after.js';

/**
 * Failures to connect: the request never left this machine, so sending it again cannot make the
 * server do (and bill) the work twice. Anything after the connection was made (a reset, a timeout,
 * a 500 or 502 or 504) may come after the server started on it, so a POST is never sent again then.
 */
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

/** "Not now" answers: the server (or its gateway) turned the request away without working on it. */
const TURNED_AWAY = new Set([429, 503]);

export type RetryVerdict = { retry: true; delayMs: number; reason: string } | { retry: false; reason?: string };

export interface RetryPolicy {
  /** Retries allowed after the first attempt. */
  retries: number;
  /** The longest `Retry-After` waited for; a server asking for more is not retried. */
  maxRetryAfterMs: number;
  /** The delay before retry n (1-based) when the server gave no `Retry-After`. */
  backoffMs: (attempt: number) => number;
}

/** The OS error code of a failed connection, looking through fetch's `cause` (and Happy Eyeballs' AggregateError). */
export function connectErrorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && typeof current === 'object' && depth < 5; depth += 1) {
    const { code, errors, cause } = current as { code?: unknown; errors?: unknown; cause?: unknown };
    if (typeof code === 'string' && NEVER_SENT.has(code)) return code;
    if (Array.isArray(errors)) {
      const inner = errors.map(connectErrorCode).find((found) => found !== undefined);
      if (inner) return inner;
    }
    current = cause;
  }
  return undefined;
}

/**
 * Whether a failed attempt (`attempt`, 1-based) of a cloud POST may be sent again, and after how
 * long. Pure: the relay does the waiting and the logging.
 *
 * @example
 *   retryVerdict(error, 1, { retries: 2, maxRetryAfterMs: 30_000, backoffMs: () => 300 });
 *   // → { retry: true, delayMs: 1000, reason: 'HTTP 429' } for a 429 with Retry-After: 1
 */
export function retryVerdict(error: unknown, attempt: number, policy: RetryPolicy): RetryVerdict {
  if (error instanceof HTTPError && TURNED_AWAY.has(error.response.status)) {
    const reason = `HTTP ${error.response.status}`;
    if (attempt > policy.retries) return { retry: false };
    const asked = parseRetryAfter(error.response.headers.get('retry-after'));
    if (asked !== undefined && asked > policy.maxRetryAfterMs) {
      return { retry: false, reason: `${reason}, and the server asks to wait ${Math.ceil(asked / 1000)} s, longer than the ${Math.ceil(policy.maxRetryAfterMs / 1000)} s the relay waits` };
    }
    return { retry: true, delayMs: asked ?? policy.backoffMs(attempt), reason };
  }
  const code = connectErrorCode(error);
  if (code === undefined || attempt > policy.retries) return { retry: false };
  return { retry: true, delayMs: policy.backoffMs(attempt), reason: code };
}
