import type { WebAiEnv } from './webai-env.js';

/** The Web AI routes' error answer: `name` is the DOMException (or `TypeError`) the page throws. */
interface ErrorBody {
  error?: { code?: unknown; name?: unknown; message?: unknown; requested?: unknown; quota?: unknown };
}

/** The answer's `requested` and `quota`, where both are counts. */
function quotaDetail(error: NonNullable<ErrorBody['error']>): { quota?: number; requested?: number } {
  const count = (value: unknown) => typeof value === 'number' && Number.isFinite(value) && value >= 0;
  return count(error.quota) && count(error.requested) ? { quota: error.quota as number, requested: error.requested as number } : {};
}

/** DOMException names a gateway answer may turn into; anything else is an OperationError. */
const KNOWN_NAMES = new Set(['NotSupportedError', 'QuotaExceededError', 'AbortError', 'InvalidStateError', 'NotAllowedError', 'NetworkError', 'OperationError', 'UnknownError', 'SyntaxError', 'NotReadableError', 'DataError']);

/** `QuotaExceededError` is its own class in newer browsers (with `quota` and `requested`). */
type QuotaErrorClass = new (message: string, options?: { quota?: number; requested?: number }) => DOMException;

/**
 * The exception a page gets for a gateway error body: a `TypeError` for bad arguments, else a
 * DOMException with the spec's name. Messages are the gateway's generic page messages.
 *
 * @example
 *   throw webAiException(env, { error: { code: 'webai_not_supported', name: 'NotSupportedError', message: '...' } }, 400);
 */
export function webAiException(env: WebAiEnv, body: unknown, status: number): Error {
  const error: NonNullable<ErrorBody['error']> = (body && typeof body === 'object' && (body as ErrorBody).error) || {};
  const message = typeof error.message === 'string' ? error.message : `AiPlugs built-in AI request failed with HTTP ${status}`;
  const name = typeof error.name === 'string' ? error.name : 'OperationError';
  if (name === 'TypeError') return new TypeError(message);
  if (name === 'QuotaExceededError') return quotaError(env, message, quotaDetail(error));
  return new env.DOMException(message, KNOWN_NAMES.has(name) ? name : 'OperationError');
}

/** A QuotaExceededError, as the class where the browser has one, else as a DOMException name. */
export function quotaError(env: WebAiEnv, message: string, detail: { quota?: number; requested?: number } = {}): DOMException {
  const QuotaExceeded = (env.world.w as unknown as { QuotaExceededError?: QuotaErrorClass }).QuotaExceededError;
  if (typeof QuotaExceeded === 'function') {
    try {
      return new QuotaExceeded(message, detail);
    } catch {
      // An older browser's shape: fall through.
    }
  }
  return new env.DOMException(message, 'QuotaExceededError');
}

export const destroyedError = (env: WebAiEnv) => new env.DOMException('This built-in AI object was destroyed', 'InvalidStateError');
export const destroyingReason = (env: WebAiEnv) => new env.DOMException('This built-in AI object was destroyed', 'AbortError');
