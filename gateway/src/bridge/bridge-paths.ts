/**
 * The bridge's URL grammar, in one place for both of its ends.
 *
 * Pages see, on their own origin, `/__aiplugs/cap/<token>/api/…` and `/__aiplugs/cap/<token>/ws`,
 * under the capability the proxy minted for that document (see page-capability.ts). Nothing under
 * `/__aiplugs/` answers without one: the runtime itself comes inline in the document.
 *
 * The proxy forwards them to the API port as `/__aiplugs-bridge/<secret>/<scheme>/<rest>`: the
 * per-process secret proves the proxy sent it (no page and no other program ever sees it), the
 * scheme and the `Host` header (kept as the site's) give the page's origin.
 */

export const PAGE_BRIDGE_PREFIX = '/__aiplugs/';
export const FORWARDED_BRIDGE_PREFIX = '/__aiplugs-bridge/';

/** The base a document's bridge calls go to (`bridge + '/api/plugins/…'`). */
export function capabilityBase(token: string): string {
  return `/__aiplugs/cap/${token}`;
}

export type BridgeScheme = 'http' | 'https';

export interface ForwardedPath {
  secret: string;
  scheme: BridgeScheme;
  /** What followed `/__aiplugs/` on the page's side, with a leading slash. */
  rest: string;
}

const FORWARDED = /^\/__aiplugs-bridge\/([A-Za-z0-9_-]{16,128})\/(https?)(\/.*)$/;

export function parseForwardedPath(pathname: string): ForwardedPath | null {
  const match = FORWARDED.exec(pathname);
  return match ? { secret: match[1]!, scheme: match[2] as BridgeScheme, rest: match[3]! } : null;
}

export interface PagePath {
  token: string;
  path: string;
}

const CAPABILITY_PATH = /^\/cap\/([^/]+)(\/.*)$/;

/** Splits the page-side rest into the capability and the API path it addresses; null without one. */
export function parsePagePath(rest: string): PagePath | null {
  const match = CAPABILITY_PATH.exec(rest);
  return match ? { token: match[1]!, path: match[2]! } : null;
}

/** The origin a forwarded request speaks for: its scheme and its (site's) Host header, normalized. */
export function originOf(scheme: BridgeScheme, host: string | undefined): string | null {
  if (!host || !/^[A-Za-z0-9.\-[\]:]+$/.test(host)) return null;
  try {
    return new URL(`${scheme}://${host}`).origin;
  } catch {
    return null;
  }
}
