import type { Hono } from 'hono';
import type { ApiEnv } from './api-env.js';

/** Methods the API's routes are written for; HEAD is answered wherever GET is (Hono does that). */
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * The methods some route of `app` answers at `path`, in the order of an `Allow` header; empty
 * when none does (a 404, not a 405). Middleware and catch-alls (`app.use`, `app.all`) answer every
 * method and say nothing about a path, so only routes registered for one method count. Asked
 * only for a request no route took, so the router's work here is off the hot path.
 *
 * @example
 *   allowedMethods(app, '/api/health'); // → ['GET', 'HEAD']
 */
export function allowedMethods(app: Hono<ApiEnv>, path: string): string[] {
  const allowed = METHODS.filter((method) => app.router.match(method, path)[0].some(([[, route]]) => route.method === method));
  return allowed.includes('GET') ? ['GET', 'HEAD', ...allowed.filter((method) => method !== 'GET')] : allowed;
}
