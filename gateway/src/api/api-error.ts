import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { MAX_JSON_DEPTH, parseBoundedJson } from './bounded-json.js';

/**
 * An error with an HTTP status and a stable machine-readable code; the API's error handler
 * turns it into the contract's `{"error":{"code","message"}}` body.
 *
 * @example
 *   throw new ApiError(404, 'plugin_not_found', `No plugin "${id}"`);
 */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ErrorBody {
  error: { code: string; message: string };
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

/** How a validation problem reads by default: where it is, then what is wrong. */
export const describeIssue = (issue: z.core.$ZodIssue): string => `${issue.path.join('.') || '(body)'}: ${issue.message}`;

/**
 * Reads a JSON body and validates it, so every route rejects bad input the same way; a route whose
 * messages say where they are themselves (settings) passes its own `describe`.
 */
export async function parseJsonBody<T extends z.ZodType>(c: Context, schema: T, describe: (issue: z.core.$ZodIssue) => string = describeIssue): Promise<z.infer<T>> {
  const body = parseBoundedJson(await c.req.text());
  if (!body.ok) throw new ApiError(400, 'invalid_json', body.problem === 'too_deep' ? `The request body nests deeper than ${MAX_JSON_DEPTH} levels` : 'The request body is not valid JSON');
  const parsed = schema.safeParse(body.value);
  if (!parsed.success) {
    throw new ApiError(400, 'invalid_body', parsed.error.issues.map(describe).join('; '));
  }
  return parsed.data;
}

/** The one place errors become responses; unknown errors are logged and hidden behind a 500. */
export function toErrorResponse(error: unknown, c: Context, logUnexpected: (error: unknown) => void): Response {
  if (error instanceof ApiError) return c.json(errorBody(error.code, error.message), error.status);
  if (error instanceof HTTPException) {
    const status = error.status as ContentfulStatusCode;
    return c.json(errorBody(`http_${status}`, error.message || 'Request failed'), status);
  }
  logUnexpected(error);
  return c.json(errorBody('internal_error', 'The gateway hit an unexpected error; see its log'), 500);
}
