import ipaddr from 'ipaddr.js';
import { LRUCache } from 'lru-cache';
import { hostMatchesSitePattern } from '../settings/site-patterns.js';
import { headerValue, isDocumentRequest, isFrameNavigation } from './document-request.js';

type Headers = Record<string, string | string[] | undefined>;

/**
 * Local Network Access, kept by the proxy. Chromium refuses a page's requests to an address more
 * private than the page's own (a public site fetching from the user's router or a service on
 * 127.0.0.1), but it cannot tell the address of a request that goes through a proxy: the proxy
 * resolves the name. Through the gateway, a public page read `http://127.0.0.1:…` with CORS, and
 * a name rebound to 127.0.0.1 reached local services as its own origin (found by helper-79). So
 * the proxy decides as Chromium would have: it knows each address it connects to, and the page
 * a request comes from by what the browser tells (`Origin`, `Referer`, `Sec-Fetch-Site`).
 */

/** The IP address spaces of Local Network Access, from the most public to the most private. */
export type AddressSpace = 'public' | 'local' | 'loopback';

const RANK: Record<AddressSpace, number> = { public: 0, local: 1, loopback: 2 };

/** Ranges the spec counts as local (RFC 1918, carrier-grade NAT, benchmarking, link-local, unique local). */
const LOCAL_RANGES = ['private', 'carrierGradeNat', 'linkLocal', 'uniqueLocal'];
const LOCAL_CIDRS = [ipaddr.parseCIDR('198.18.0.0/15')];

/** The address space of an IP address (an IPv4-mapped IPv6 address as its IPv4 one; 0.0.0.0 and `::` reach this machine). */
export function addressSpaceOf(address: string): AddressSpace {
  if (!ipaddr.isValid(address)) return 'public';
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  const range = ip.range();
  if (range === 'loopback' || range === 'unspecified') return 'loopback';
  if (LOCAL_RANGES.includes(range) || (ip.kind() === 'ipv4' && LOCAL_CIDRS.some((cidr) => ip.match(cidr)))) return 'local';
  return 'public';
}

/** Names that are this machine by definition, never looked up as others (RFC 6761). */
const isLoopbackName = (host: string) => host === 'localhost' || host.endsWith('.localhost');

/**
 * The page a request comes from, as the browser tells it: its origin's host, `opaque` for a
 * sandboxed or referrer-less page's `Origin: null`, or null when it tells nothing (a top-level
 * typed address, a local program, a page that sent no `Referer` where no `Origin` goes) or names
 * no web page (the extension's own pages and worker, `chrome-extension://…`: the user's, not a site's).
 */
export function initiatorHost(url: URL, headers: Headers): string | 'opaque' | null {
  const origin = headerValue(headers, 'origin')?.trim();
  if (origin === 'null') return 'opaque';
  const told = origin ?? headerValue(headers, 'referer');
  if (told) {
    let page: URL;
    try {
      page = new URL(told);
    } catch {
      return 'opaque';
    }
    return page.protocol === 'http:' || page.protocol === 'https:' ? page.hostname : null;
  }
  return headerValue(headers, 'sec-fetch-site')?.toLowerCase() === 'same-origin' ? url.hostname : null;
}

/**
 * A request whose answer its page cannot read and that changes nothing by itself: a GET or HEAD the
 * browser says is in no-cors mode (a script, an image). Chromium names no page for a sandboxed
 * frame's scripts (`Origin: null`, no `Referer`), a frame that may well be its own site's. Without
 * fetch metadata (a plain-HTTP address) a CORS read or a WebSocket looks the same, so none counts
 * as blind there (helper-81).
 */
const isBlindRead = (method: string, headers: Headers) => {
  const verb = method.toUpperCase();
  return (verb === 'GET' || verb === 'HEAD') && headerValue(headers, 'sec-fetch-mode')?.toLowerCase() === 'no-cors' && headerValue(headers, 'upgrade') === undefined;
};

export interface LocalNetworkGuardOptions {
  /** How an address is classed; tests class a loopback address as public to play a public site. Default `addressSpaceOf`. */
  addressSpace?: (address: string) => AddressSpace;
  /** Hosts whose documents' address space is remembered. Default 4096. */
  maxHosts?: number;
  /**
   * Host patterns of pages the user lets reach local addresses (`proxy.local_network_sites`:
   * `app.plex.tv`, `*.corp.example`), as Chromium asks the user; the proxy cannot ask.
   */
  allowedPages?: readonly string[];
}

/** The error a refused request fails with; the proxy's error page names it (upstream-error-page.ts). */
export class LocalNetworkRefusal extends Error {
  readonly code = 'E_AIPLUGS_LOCAL_NETWORK';
  constructor(
    readonly initiator: string,
    readonly target: string,
    readonly space: AddressSpace,
  ) {
    super(`a page of ${initiator} may not reach ${target}, a ${space === 'loopback' ? 'loopback' : 'local network'} address, through AiPlugs (Local Network Access)`);
  }
}

/**
 * The check mockttp asks of every upstream address (patch `upstream-address-check`): null to
 * connect, or the refusal. Top-level navigations are never refused (a typed or linked address is
 * the user's own choice, as in Chromium), and each teaches the guard its host's address space.
 */
export function createLocalNetworkGuard(options: LocalNetworkGuardOptions = {}) {
  const spaceOf = options.addressSpace ?? addressSpaceOf;
  // Only top-level documents are remembered, each at the most public space it was served from: a
  // name rebound to 127.0.0.1 keeps the space of its first, public document, and a page cannot
  // push the entries out with frames.
  const documents = new LRUCache<string, AddressSpace>({ max: options.maxHosts ?? 4096 });
  const remember = (host: string, space: AddressSpace) => {
    const known = documents.get(host);
    documents.set(host, known !== undefined && RANK[known] < RANK[space] ? known : space);
  };
  /** A page's space: as its document was served; else by its address or name (unknown names are public); the target's own host with no record is the target's space. */
  const pageSpace = (host: string, target: URL, targetSpace: AddressSpace): AddressSpace => {
    const known = documents.get(host);
    if (known !== undefined) return known;
    const literal = host.replace(/^\[|\]$/g, '');
    if (ipaddr.isValid(literal)) return spaceOf(literal);
    if (isLoopbackName(host)) return 'loopback';
    return host === target.hostname ? targetSpace : 'public';
  };

  const urlOf = (request: { url: string }): URL | null => {
    try {
      return new URL(request.url);
    } catch {
      return null;
    }
  };

  // Asked of every address of every request the proxy sends on: a request to a public address
  // that is no top-level navigation leaves before its URL is parsed.
  return (address: string, request: { url: string; method: string; headers: Headers }): LocalNetworkRefusal | null => {
    const space = spaceOf(address);
    // A top-level navigation is the user's (as in Chromium); a frame's is its page's, checked like a
    // subresource: a hidden frame posting a form to the router is a page's request (helper-81).
    if (isDocumentRequest(request.method, request.headers) && !isFrameNavigation(request.headers)) {
      const url = urlOf(request);
      if (url) remember(url.hostname, space);
      return null;
    }
    if (space === 'public') return null;
    const url = urlOf(request);
    if (!url) return null;
    const told = initiatorHost(url, request.headers);
    // An opaque page's blind read tells no more than a request that names no page.
    const initiator = told === 'opaque' && isBlindRead(request.method, request.headers) ? null : told;
    let from: AddressSpace;
    if (initiator === null) {
      // Told nothing: refused only where the name served documents from a more public address (rebinding).
      const known = documents.get(url.hostname);
      if (known === undefined) return null;
      from = known;
    } else {
      from = initiator === 'opaque' ? 'public' : pageSpace(initiator, url, space);
    }
    if (RANK[space] <= RANK[from]) return null;
    if (initiator !== null && initiator !== 'opaque' && (options.allowedPages ?? []).some((pattern) => hostMatchesSitePattern(initiator, pattern))) return null;
    return new LocalNetworkRefusal(initiator === 'opaque' ? 'no origin (a sandboxed frame)' : (initiator ?? url.hostname), url.host, space);
  };
}
