import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { errorBody } from './api-error.js';
import type { ApiEnv } from './api-env.js';

export interface BodyLimits {
  /** Any route's body (`api.max_body_bytes`). */
  defaultBytes: number;
  /** Plugin calls, whose payloads may carry an image (`api.max_infer_body_bytes`). */
  inferBytes: number;
  /** Routes anyone may call without the token (sign-in form): tiny. */
  publicBytes: number;
  /** Body bytes all requests together may hold at once (`api.max_buffered_body_bytes`). */
  budgetBytes: number;
}

const INFER_ROUTE = /^\/api\/plugins\/[^/]+\/infer(\/stream)?$/;

/** The cap for one route: `public` routes are the ones guardRequests lets through without the token. */
export function bodyCapFor(method: string, path: string, isPublic: boolean, limits: BodyLimits): number {
  if (isPublic) return limits.publicBytes;
  if (method === 'POST' && INFER_ROUTE.test(path)) return limits.inferBytes;
  return limits.defaultBytes;
}

/**
 * Answers an over-cap body at once. The connection is not cut: closing a socket with unread data
 * resets it, which can destroy the 413 before the client reads it (and the proxy would turn that
 * reset into a 502). Node discards the rest of the upload unread, and the request timeout bounds
 * how long a client that keeps sending can keep that up.
 */
function tooLarge(c: Context<ApiEnv>, cap: number): Response {
  return c.json(errorBody('body_too_large', `The request body is over this route's limit of ${cap} bytes`), 413);
}

/**
 * Bounds request bodies after the caller is known (mount it after guardRequests): a declared
 * Content-Length over the route's cap is refused before a byte is read; a chunked body is read
 * only up to the cap. All requests share a budget of body bytes, reserved before reading (the
 * declared length, or the cap when none is declared) and released when the answer is ready, so a
 * crowd of uploads gets 503s instead of the gateway's memory.
 *
 * @example
 *   app.use('*', guardRequests(…), limitBodies(limits, (method, path) => PUBLIC_ROUTES.has(`${method} ${path}`)));
 */
export function limitBodies(limits: BodyLimits, isPublic: (method: string, path: string) => boolean): MiddlewareHandler<ApiEnv> {
  const readers = new Map<number, MiddlewareHandler>();
  const readerFor = (cap: number) => {
    let reader = readers.get(cap);
    if (!reader) {
      reader = bodyLimit({ maxSize: cap, onError: (c) => tooLarge(c, cap) });
      readers.set(cap, reader);
    }
    return reader;
  };
  let reserved = 0;
  return async (c, next) => {
    if (!c.req.raw.body) return next();
    const path = new URL(c.req.url).pathname;
    const cap = bodyCapFor(c.req.method, path, isPublic(c.req.method, path), limits);
    const declared = Number(c.req.header('content-length') ?? Number.NaN);
    if (Number.isFinite(declared) && declared > cap) return tooLarge(c, cap);
    const claim = Number.isFinite(declared) ? declared : cap;
    if (reserved + claim > limits.budgetBytes) {
      return c.json(errorBody('gateway_busy', 'The gateway is receiving too much at once; try again shortly'), 503, { 'retry-after': '1' });
    }
    reserved += claim;
    try {
      return await readerFor(cap)(c, next);
    } finally {
      reserved -= claim;
    }
  };
}
