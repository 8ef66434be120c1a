import { extractContentType, splitHeaderValues } from './content-type.js';

/**
 * Which exchanges are documents worth injecting. Pure functions over headers so each rule can be
 * unit-tested alone; the proxy calls `isDocumentRequest` before contacting the upstream and
 * `isInjectableResponse` once the response headers arrive.
 */

type Headers = Record<string, string | string[] | undefined>;

/**
 * Header lookup that ignores case. Node's and mockttp's header objects name headers in lower case,
 * so one lookup finds them; a walk that allocates nothing finds names in any other case (headers
 * built by hand). Called several times for every request the proxy sees.
 */
export function headerValue(headers: Headers, name: string): string | undefined {
  const wanted = name.toLowerCase();
  let value = Object.hasOwn(headers, wanted) ? headers[wanted] : undefined;
  if (value === undefined) {
    for (const key in headers) {
      if (key.length === wanted.length && Object.hasOwn(headers, key) && key.toLowerCase() === wanted) {
        value = headers[key];
        break;
      }
    }
  }
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * `empty`: a navigation a site's service worker fetches on (`fetch(event.request)`, as Workbox's
 * NetworkFirst does) keeps the navigate mode and loses its destination. No page can make a
 * request in navigate mode (`new Request(url, {mode: 'navigate'})` throws), so this is a document
 * on its way to a tab, if it keeps the navigation's `Accept` too (`acceptsHtml`): a download
 * (`<a download>`, "Save link as") is in navigate mode with no destination either, and no Accept.
 */
const DOCUMENT_DESTINATIONS = new Set(['document', 'iframe', 'frame', 'object', 'embed', 'empty']);

/**
 * Navigations of a nested browsing context. Chromium shows HTML in an `<object>` or `<embed>` as
 * a frame, navigated with `Sec-Fetch-Dest: object|embed` (an image or a PDF there is no HTML, and
 * the response decides).
 */
const FRAME_DESTINATIONS = new Set(['iframe', 'frame', 'object', 'embed']);

/**
 * A navigation to a document: a GET, or a POST (a form sent: search and login results, checkout
 * steps, postbacks). With fetch metadata (every current browser on https and trustworthy origins)
 * only `Sec-Fetch-Mode: navigate` with `Sec-Fetch-Dest: document|iframe|frame|object|embed` (or
 * `empty`, from a service worker) counts.
 * Without it (plain-HTTP sites, curl, old clients) a request that accepts `text/html` counts when
 * it is a browser's navigation, which carries `Upgrade-Insecure-Requests: 1` (browsers send it on
 * navigations only), or is a GET from no page at all (no `Referer`, no `Origin`: curl, a typed
 * URL). A script's fetch or XHR on a plain-HTTP page has neither, whatever `Accept` it chose.
 */
export function isDocumentRequest(method: string, headers: Headers): boolean {
  const verb = method.toUpperCase();
  if (verb !== 'GET' && verb !== 'POST') return false;
  const dest = headerValue(headers, 'sec-fetch-dest');
  if (dest !== undefined) {
    const destination = dest.toLowerCase();
    if (!DOCUMENT_DESTINATIONS.has(destination) || headerValue(headers, 'sec-fetch-mode')?.toLowerCase() !== 'navigate') return false;
    return destination !== 'empty' || acceptsHtml(headers);
  }
  if (headerValue(headers, 'x-requested-with')?.toLowerCase() === 'xmlhttprequest') return false;
  if (headerValue(headers, 'upgrade') !== undefined) return false;
  if (!acceptsHtml(headers)) return false;
  if (headerValue(headers, 'upgrade-insecure-requests')?.trim() === '1') return true;
  // A POST from no page is a program's (curl, an API client), not a form a person sent.
  return verb === 'GET' && headerValue(headers, 'referer') === undefined && headerValue(headers, 'origin') === undefined;
}

const acceptsHtml = (headers: Headers) => /\btext\/html\b|\bapplication\/xhtml\+xml\b/i.test(headerValue(headers, 'accept') ?? '');

/** A navigation of a frame (an iframe, frame, object or embed element), known by fetch metadata; without it, none counts as one. */
export function isFrameNavigation(headers: Headers): boolean {
  const dest = headerValue(headers, 'sec-fetch-dest')?.toLowerCase();
  return dest !== undefined && FRAME_DESTINATIONS.has(dest);
}

/**
 * A GET that may fetch a document for later use as a page: a script's fetch or XHR, or a
 * `<link rel=prefetch>` (`Sec-Fetch-Dest: empty`), or any GET from a browser that sends no fetch
 * metadata. Never a navigation, an image, a script or a style: those keep the plain passthrough.
 */
export function mayPrefetchDocument(method: string, headers: Headers): boolean {
  if (method.toUpperCase() !== 'GET') return false;
  // Asked of every request the proxy sees: images, scripts and styles leave at the first lookup.
  const dest = headerValue(headers, 'sec-fetch-dest');
  if (dest !== undefined && dest.toLowerCase() !== 'empty') return false;
  return !isDocumentRequest(method, headers);
}

/** The response's media type as the browser takes it (content-type.ts), lower case, without parameters (`text/html`). */
export const mediaType = (headers: Headers): string => extractContentType(headers)?.essence ?? '';

/**
 * Media types a browser takes as none given: Chromium shows such a document as whatever its first
 * bytes look like (html-sniffing.ts). '' is no Content-Type, or none it can parse; `*∕*` is
 * skipped like one (content-type.ts).
 */
const UNKNOWN_TYPES = new Set(['', 'unknown/unknown', 'application/unknown']);

/** `X-Content-Type-Options: nosniff`, read as Fetch reads it: the first of its values. */
const forbidsSniffing = (headers: Headers) => splitHeaderValues(headerValue(headers, 'x-content-type-options') ?? '')[0]?.toLowerCase() === 'nosniff';

/** The browser tells the body's type from its first bytes: it came with none, and sniffing is allowed. */
export const typeFromBody = (headers: Headers): boolean => UNKNOWN_TYPES.has(mediaType(headers)) && !forbidsSniffing(headers);

/**
 * A 2xx response that is shown, not downloaded, and has a body (a whole one: a 206 is a slice of
 * one), that is HTML by its type or may be by its first bytes (`typeFromBody`: those then decide).
 */
export function isInjectableResponse(status: number, headers: Headers): boolean {
  if (status < 200 || status > 299 || status === 204 || status === 205 || status === 206) return false;
  const type = mediaType(headers);
  if (type !== 'text/html' && type !== 'application/xhtml+xml' && !typeFromBody(headers)) return false;
  return !/^\s*attachment/i.test(headerValue(headers, 'content-disposition') ?? '');
}
