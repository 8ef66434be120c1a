type Headers = Record<string, string | string[] | undefined>;

/** Headers that would stop injected scripts or framing; `strip` mode removes them. */
const BLOCKING_HEADERS = ['content-security-policy', 'content-security-policy-report-only', 'x-frame-options'];

/** Validators and freshness that would let a browser reuse a copy without our injection. */
export const CACHE_HEADERS = ['cache-control', 'expires', 'etag', 'last-modified', 'age', 'pragma'];

/** Request headers that could make the upstream answer 304 and resurrect an uninjected cached copy. */
export const CONDITIONAL_REQUEST_HEADERS = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range'];

export function withoutHeaders(headers: Headers, names: readonly string[]): Headers {
  const drop = new Set(names);
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !drop.has(name.toLowerCase())));
}

/**
 * Response headers for a document the proxy changed: never cached (so it can't miss its
 * injection next time), the body's new length, and (in strip mode) no CSP or X-Frame-Options.
 * Everything else — HSTS, nosniff, CORP/COOP, cookies — is kept.
 */
export function injectedDocumentHeaders(headers: Headers, options: { stripCsp: boolean; contentLength: number }): Headers {
  const removed = [...CACHE_HEADERS, 'content-length', 'transfer-encoding', ...(options.stripCsp ? BLOCKING_HEADERS : [])];
  return { ...withoutHeaders(headers, removed), 'cache-control': 'no-store', 'content-length': String(options.contentLength) };
}
