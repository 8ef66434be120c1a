import { isLoopbackAddress } from './assert-loopback.js';

/**
 * Whether a document at `url` is a secure context as browsers decide it for a top-level page
 * (HTML's "potentially trustworthy URL"): https, or http on loopback (`localhost`, a
 * `*.localhost` name, 127.0.0.0/8, [::1]). APIs the specs give secure contexts only (the built-in
 * AI APIs) have no business in a document that is not one.
 *
 * @example
 *   isSecureContextUrl(new URL('http://localhost:3000/')); // → true
 *   isSecureContextUrl(new URL('http://example.com/')); // → false
 */
export function isSecureContextUrl(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  if (url.protocol !== 'http:') return false;
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return host === 'localhost' || host.endsWith('.localhost') || isLoopbackAddress(host);
}
