// Fetches an image the page could show but not read (another origin without CORS). Any page can
// ask for any URL, so this is built not to be a way into the user's network:
// - http(s) only, no credentials in the URL, no cookies or other headers of the user's;
// - every address a host name resolves to must be public unicast (ipaddr.js ranges: no loopback,
//   private, link-local, unique-local, CGNAT, multicast, reserved, documentation, 6to4/Teredo/NAT64
//   wrappers…), checked inside the socket's own DNS lookup, so the address connected to is the
//   address checked (no DNS-rebinding gap); literal IPs are checked before connecting;
// - redirects are followed by hand (at most 3), each hop checked the same way;
// - one deadline for the whole fetch, a byte cap checked against Content-Length and while reading,
//   and only image/jpeg or image/png answers are read at all.
import { lookup as dnsLookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export const FETCH_LIMITS = Object.freeze({ maxBytes: 10 * 1024 * 1024, timeoutMs: 10_000, maxRedirects: 3 });
const IMAGE_TYPES = ['image/jpeg', 'image/jpg', 'image/png'];

/** Why an image was not fetched; `message` is written for the page. */
export class ImageFetchError extends Error {
  name = 'ImageFetchError';
  /** @param {'address_refused' | 'fetch_failed' | 'not_an_image' | 'too_large'} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

const REFUSED = 'AiPlugs fetches images for pages only from public internet addresses over http(s); this address is local, private or not allowed';

/** True for a public unicast address (IPv4-mapped IPv6 judged as the IPv4 it carries). */
export function isPublicAddress(/** @type {string} */ address) {
  try {
    return ipaddr.process(address).range() === 'unicast';
  } catch {
    return false;
  }
}

/**
 * A `lookup` for http.request that fails unless every address the name resolves to is allowed.
 * @param {(address: string) => boolean} isAllowed
 * @returns {import('node:net').LookupFunction}
 */
function guardedLookup(isAllowed) {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      if (addresses.length === 0 || !addresses.every((entry) => isAllowed(entry.address))) {
        return callback(new ImageFetchError('address_refused', REFUSED), '', 0);
      }
      if (options.all) return /** @type {any} */ (callback)(null, addresses);
      const [first] = addresses;
      return callback(null, first?.address ?? '', first?.family ?? 4);
    });
  };
}

/**
 * @param {string} text @param {URL} [base]
 * @param {(address: string) => boolean} isAllowed
 */
function checkedUrl(text, isAllowed, base) {
  let url;
  try {
    url = new URL(text, base);
  } catch {
    throw new ImageFetchError('address_refused', 'The image address is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ImageFetchError('address_refused', REFUSED);
  if (url.username || url.password) throw new ImageFetchError('address_refused', REFUSED);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  // Node connects to a literal IP without calling lookup: check it here.
  if (isIP(host) && !isAllowed(host)) throw new ImageFetchError('address_refused', REFUSED);
  return url;
}

/**
 * One GET, no redirect following. Resolves with the response once headers are in.
 * @param {URL} url @param {AbortSignal} signal @param {import('node:net').LookupFunction} lookup
 * @returns {Promise<import('node:http').IncomingMessage>}
 */
function get(url, signal, lookup) {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.get(url, {
      lookup,
      signal,
      agent: false, // a fresh, checked connection per hop; nothing pooled from elsewhere
      headers: { accept: 'image/jpeg, image/png;q=0.9', 'user-agent': 'AiPlugs super-vision' },
    });
    request.once('response', resolve);
    request.once('error', reject);
  });
}

/**
 * @param {import('node:http').IncomingMessage} response @param {number} maxBytes
 * @returns {Promise<Buffer>}
 */
async function readCapped(response, maxBytes) {
  /** @type {Buffer[]} */
  const chunks = [];
  let total = 0;
  for await (const chunk of response) {
    total += chunk.length;
    if (total > maxBytes) {
      response.destroy();
      throw new ImageFetchError('too_large', `The image is larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/**
 * Fetches a JPEG or PNG image by URL, within FETCH_LIMITS, from public addresses only.
 * @param {string} address
 * @param {{ signal?: AbortSignal, isAllowedAddress?: (address: string) => boolean, limits?: Partial<typeof FETCH_LIMITS> }} [options]
 *   `isAllowedAddress` exists for tests (a loopback stand-in for a public host); the default is `isPublicAddress`.
 * @returns {Promise<{ bytes: Buffer, contentType: string, url: string }>}
 */
export async function fetchImage(address, options = {}) {
  const limits = { ...FETCH_LIMITS, ...options.limits };
  const isAllowed = options.isAllowedAddress ?? isPublicAddress;
  const lookup = guardedLookup(isAllowed);
  const deadline = AbortSignal.timeout(limits.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  let url = checkedUrl(address, isAllowed);
  try {
    for (let hop = 0; ; hop++) {
      const response = await get(url, signal, lookup);
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400 && response.headers.location) {
        response.resume();
        if (hop >= limits.maxRedirects) throw new ImageFetchError('fetch_failed', `The image address redirects more than ${limits.maxRedirects} times`);
        url = checkedUrl(response.headers.location, isAllowed, url);
        continue;
      }
      if (status !== 200) {
        response.resume();
        throw new ImageFetchError('fetch_failed', `The image's server answered HTTP ${status}`);
      }
      const contentType = String(response.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      if (!IMAGE_TYPES.includes(contentType)) {
        response.destroy();
        throw new ImageFetchError('not_an_image', `The address answered ${contentType || 'no content type'}, not a JPEG or PNG image`);
      }
      const declared = Number(response.headers['content-length']);
      if (declared > limits.maxBytes) {
        response.destroy();
        throw new ImageFetchError('too_large', `The image is ${declared} bytes; at most ${limits.maxBytes} are fetched`);
      }
      return { bytes: await readCapped(response, limits.maxBytes), contentType, url: url.href };
    }
  } catch (error) {
    if (error instanceof ImageFetchError) throw error;
    if (deadline.aborted) throw new ImageFetchError('fetch_failed', `The image did not arrive within ${limits.timeoutMs / 1000} s`);
    if (options.signal?.aborted) throw error;
    throw new ImageFetchError('fetch_failed', `The image could not be fetched (${/** @type {NodeJS.ErrnoException} */ (error).code ?? 'network error'})`);
  }
}
