import { headerValue } from './document-request.js';

type Headers = Record<string, string | string[] | undefined>;

/** Validators and freshness that would let a browser reuse a copy without our injection. */
export const CACHE_HEADERS = ['cache-control', 'expires', 'etag', 'last-modified', 'age', 'pragma'];

/**
 * Request headers that could make the upstream answer 304 and resurrect an uninjected cached copy.
 * Not If-Range: it never brings a 304, and without it a range request gets a slice of whatever the
 * page is now (passed through uninjected, as any 206) to splice into the bytes the client holds.
 */
export const CONDITIONAL_REQUEST_HEADERS = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since'];

export function withoutHeaders(headers: Headers, names: readonly string[]): Headers {
  const drop = new Set(names);
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !drop.has(name.toLowerCase())));
}

/**
 * The request headers that tell a navigation from a fetch of the same URL: a browser's cache keeps
 * a page a script fetched (or `<link rel=prefetch>` loaded) apart from one it navigates to only
 * when the response varies on them. The mode too: a navigation a service worker fetches on has the
 * destination of a fetch (`empty`) but keeps the navigate mode. Fetch metadata never shows in a
 * `Request`'s headers (they are forbidden names), so a service worker's Cache API lookups are not
 * affected. Not `Upgrade-Insecure-Requests`, which would do the same where browsers send no fetch
 * metadata (plain HTTP): a service worker's navigation request carries it, and its Cache API
 * lookups would then miss every page it had stored with `fetch`.
 */
export const NAVIGATION_VARY = ['sec-fetch-dest', 'sec-fetch-mode'];

/** `headers` with `names` added to its `Vary` (kept as it was when it already names them, or is `*`). */
export function withVary(headers: Headers, names: readonly string[]): Headers {
  const current = (headerValue(headers, 'vary') ?? '').split(',').map((token) => token.trim()).filter(Boolean);
  if (current.includes('*')) return headers;
  const missing = names.filter((name) => !current.some((token) => token.toLowerCase() === name));
  if (missing.length === 0) return headers;
  return { ...withoutHeaders(headers, ['vary']), vary: [...current, ...missing].join(', ') };
}
