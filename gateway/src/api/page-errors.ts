import { ApiError, type ErrorBody } from './api-error.js';
import { pageMessage } from './page-messages.js';

/** The error body a page sees for an error (ApiError or anything else). */
export function pageErrorBody(error: unknown): ErrorBody {
  const code = error instanceof ApiError ? error.code : 'internal_error';
  return { error: { code, message: pageMessage(code) } };
}
