import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ApiError } from '../api/api-error.js';

/**
 * The Web AI routes' error codes and the DOMException each one becomes in the page (the specs'
 * names). The page side maps by `code`; the error body also carries `name` for convenience.
 * Codes from the rest of the gateway (worker, model, cloud errors) map through `domExceptionName`.
 */
export const WEB_AI_ERRORS = {
  /** The API, these options, or this language pair cannot be served (`availability()` says "unavailable"). */
  webai_not_supported: { status: 400, name: 'NotSupportedError', page: 'This AI capability is not available with these options' },
  /** The messages are no conversation the Prompt API takes: empty, a system message not first, a prefix not the last assistant one. */
  webai_bad_conversation: { status: 400, name: 'SyntaxError', page: 'The messages are not a valid conversation' },
  /** The input (with the session's history) is larger than `inputQuota`. */
  webai_quota_exceeded: { status: 413, name: 'QuotaExceededError', page: 'The input is larger than the input quota' },
  /** This origin made too many calls in the last minute, or has too many generations running. */
  webai_rate_limited: { status: 429, name: 'QuotaExceededError', page: 'This site made too many AI requests; try again shortly' },
  /** Only the cloud would serve this, and the user has not allowed this site to use the cloud. */
  webai_cloud_not_allowed: { status: 403, name: 'NotAllowedError', page: 'The user has not allowed this site to use cloud AI' },
  /** Web AI is switched off (config), or off for this site (pause, disabled site). */
  webai_disabled: { status: 403, name: 'NotAllowedError', page: 'Built-in AI is switched off for this site' },
  /** A page asked for a model download the user has not started (webai.page_downloads is off). */
  webai_download_not_allowed: { status: 403, name: 'NotAllowedError', page: 'The AI model is not downloaded yet; the user can download it from the AiPlugs dashboard' },
  /** The model could not be downloaded or verified. */
  webai_download_failed: { status: 503, name: 'NetworkError', page: 'The AI model could not be downloaded' },
  /** The model answered something the API cannot use (e.g. JSON that breaks the response constraint). */
  webai_bad_output: { status: 502, name: 'OperationError', page: 'The AI model produced an unusable answer' },
} as const satisfies Record<string, { status: number; name: string; page: string }>;

export type WebAiErrorCode = keyof typeof WEB_AI_ERRORS;

/** Gateway-wide codes that have a spec meaning; everything else is an `OperationError`. */
const OTHER_NAMES: Record<string, string> = {
  cancelled: 'AbortError',
  invalid_body: 'TypeError',
  invalid_json: 'TypeError',
  body_too_large: 'QuotaExceededError',
  models_unavailable: 'NetworkError',
  too_many_requests: 'QuotaExceededError',
  forbidden: 'NotAllowedError',
  webai_not_granted: 'NotAllowedError',
  capability_required: 'NotAllowedError',
  capability_invalid: 'NotAllowedError',
  cross_site: 'NotAllowedError',
  worker_busy: 'QuotaExceededError',
  cloud_budget_exceeded: 'QuotaExceededError',
  cloud_not_configured: 'NotSupportedError',
};

/** The DOMException name (or `TypeError`) a page should throw for an error code. */
export function domExceptionName(code: string): string {
  return (WEB_AI_ERRORS as Record<string, { name: string }>)[code]?.name ?? OTHER_NAMES[code] ?? 'OperationError';
}

/** The generic message a page sees for a Web AI code (details stay in the user's log). */
export function webAiPageMessage(code: string): string | undefined {
  return (WEB_AI_ERRORS as Record<string, { page: string }>)[code]?.page;
}

/** An input over the model's input quota, in its tokens: the page's `QuotaExceededError` carries both numbers. */
export class InputQuotaError extends ApiError {
  constructor(
    readonly requested: number,
    readonly quota: number,
  ) {
    super(WEB_AI_ERRORS.webai_quota_exceeded.status, 'webai_quota_exceeded', `the input is ${requested} tokens; the input quota is ${quota}`);
  }
}

/**
 * @example
 *   throw webAiError('webai_not_supported', 'Translator: no model for en → xx');
 */
export function webAiError(code: WebAiErrorCode, message: string): ApiError {
  return new ApiError(WEB_AI_ERRORS[code].status as ContentfulStatusCode, code, message);
}
