/* No imports: the extension uses this module too (extension/src/common/gateway-client.ts). */

/**
 * Sent with the token by the companion extension when it calls for a page it serves without the
 * proxy (its fallback transport): the call then gets that page's rules, as if it came through the
 * bridge, never the token holder's. Its value is the page's origin, which the extension takes from
 * the browser (the sender's URL), never from the page.
 */
export const PAGE_ORIGIN_HEADER = 'x-aiplugs-page-origin';

/** The `http(s)://host[:port]` origin a header names, or null if it names anything else. */
export function pageOriginOf(value: string): string | null {
  if (value.length > 2048) return null;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value ? url.origin : null;
  } catch {
    return null;
  }
}
