import type { CompletedRequest } from 'mockttp';
import type { requestSteps } from 'mockttp';
import type { Hono } from 'hono';
import type { ApiEnv } from '../api/api-env.js';
import { errorBody } from '../api/api-error.js';
import { headerValue } from './document-request.js';

type CallbackResponseResult = requestSteps.CallbackResponseResult;

export const BRIDGE_PREFIX = '/__aiplugs/';

/** `https://site/__aiplugs/…` on any host is ours, never the site's. */
export function isBridgeRequest(url: string): boolean {
  try {
    return new URL(url).pathname.startsWith(BRIDGE_PREFIX);
  } catch {
    return false;
  }
}

/**
 * The page a bridged request speaks for. The browser sets `Referer` (or at least `Origin`) on
 * same-origin requests; it must be the bridge's own origin, because a page cannot send a request
 * to site A's bridge while claiming to be on site B.
 */
export function bridgedPageUrl(requestUrl: string, headers: Record<string, string | string[] | undefined>): string | null {
  const origin = new URL(requestUrl).origin;
  for (const candidate of [headerValue(headers, 'referer'), headerValue(headers, 'origin')]) {
    if (!candidate) continue;
    try {
      const page = new URL(candidate);
      if (page.origin === origin) return page.pathname === '/' && candidate === page.origin ? `${origin}/` : page.href;
    } catch {
      // not a URL: keep looking
    }
  }
  return null;
}

function json(status: number, code: string, message: string): CallbackResponseResult {
  return { statusCode: status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, json: errorBody(code, message) };
}

/**
 * Answers bridged requests in-process with the API app, so no socket to localhost is involved
 * and the API learns the page from a binding no network peer can forge.
 */
export function createBridgeHandler(api: Hono<ApiEnv>) {
  return async (request: CompletedRequest): Promise<CallbackResponseResult> => {
    const pageUrl = bridgedPageUrl(request.url, request.headers);
    if (!pageUrl) return json(403, 'unknown_page', 'Bridged calls must come from a page on this site (no Referer or Origin)');
    const url = new URL(request.url);
    const target = `http://bridge.aiplugs.invalid/${url.pathname.slice(BRIDGE_PREFIX.length)}${url.search}`;
    const headers = new Headers();
    const contentType = headerValue(request.headers, 'content-type');
    if (contentType) headers.set('content-type', contentType);
    const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : new Uint8Array(request.body.buffer);
    const response = await api.fetch(new Request(target, { method: request.method, headers, body }), { bridge: { pageUrl } });
    const responseHeaders: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      responseHeaders[name] = value;
    });
    return { statusCode: response.status, headers: responseHeaders, rawBody: Buffer.from(await response.arrayBuffer()) };
  };
}
