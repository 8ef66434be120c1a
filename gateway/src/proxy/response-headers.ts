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
