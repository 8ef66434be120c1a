import { errorBody } from '../api/api-error.js';
import { createInFlightPerKey } from '../api/in-flight-per-key.js';
import type { ApiEnv } from '../api/api-env.js';
import { tokensEqual } from '../api/token-compare.js';
import { siteOf } from '../net/site-of.js';
import { originOf, parseForwardedPath, parsePagePath, type BridgeScheme } from './bridge-paths.js';
import type { CapabilityIssuer, PageGrant } from './page-capability.js';

type Bindings = ApiEnv['Bindings'];

export interface BridgeEntryOptions {
  /** The API app; bridged requests are handed to it in-process with a `bridge` binding. */
  fetch: (request: Request, env: Bindings) => Response | Promise<Response>;
  /** The proxy's per-process secret (it rewrites page paths to carry it). */
  secret: string;
  capabilities: CapabilityIssuer;
  /** Bridged requests one site (net/site-of.ts) may have in flight; the rest get 429 (default 32). */
  maxInFlightPerSite?: number;
}

/** Request headers a bridged call keeps: what the API needs to read its body, revalidate files and compress them. */
const FORWARDED_HEADERS = ['content-type', 'content-length', 'transfer-encoding', 'if-none-match', 'accept', 'accept-encoding'];

function refuse(status: number, code: string, message: string): Response {
  return new Response(JSON.stringify(errorBody(code, message)), { status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } });
}

/** The identity of a verified bridged request: its origin and its document's grant. */
export type BridgeIdentity = { origin: string; grant: PageGrant; path: string };

/**
 * Checks everything a bridged request carries in its head — the proxy's secret, the origin it was
 * sent to, the page's capability, fetch metadata — before a byte of its body is read.
 */
export function identifyBridgedRequest(
  pathname: string,
  headers: { get(name: string): string | null },
  options: Pick<BridgeEntryOptions, 'secret' | 'capabilities'>,
): { ok: true; identity: BridgeIdentity } | { ok: false; response: Response } {
  const forwarded = parseForwardedPath(pathname);
  if (!forwarded || !tokensEqual(forwarded.secret, options.secret)) return { ok: false, response: refuse(403, 'forbidden', 'Not a bridged request') };
  const origin = originOf(forwarded.scheme as BridgeScheme, headers.get('host') ?? undefined);
  if (!origin) return { ok: false, response: refuse(403, 'forbidden_host', 'The bridged request names no valid site') };
  // A page of another site may know a token (it was shown one); it still may not use it.
  const claimedOrigin = headers.get('origin');
  const fetchSite = headers.get('sec-fetch-site');
  if ((claimedOrigin && claimedOrigin !== origin) || (fetchSite && fetchSite !== 'same-origin' && fetchSite !== 'none')) {
    return { ok: false, response: refuse(403, 'cross_site', 'The bridge answers only its own site') };
  }
  const page = parsePagePath(forwarded.rest);
  if (!page) return { ok: false, response: refuse(403, 'capability_required', 'Bridged calls need the capability of an injected page') };
  const grant = options.capabilities.verify(page.token, origin);
  if (!grant) return { ok: false, response: refuse(403, 'capability_invalid', 'This page holds no valid AiPlugs capability for this site (reload the page)') };
  return { ok: true, identity: { origin, grant, path: page.path } };
}

/**
 * The API port's entry for requests the proxy forwarded from `https://<site>/__aiplugs/…`. A
 * verified request is answered by the API app in-process, as the page it speaks for; anything
 * else is refused on its head, before its body is read (the rest of an upload is discarded unread).
 *
 * @example
 *   const bridge = createBridgeEntry({ fetch: api.fetch, secret, capabilities });
 *   serve({ fetch: (request, env) => (bridge.handles(request) ? bridge.fetch(request, env) : api.fetch(request, env)) });
 */
export function createBridgeEntry(options: BridgeEntryOptions) {
  const inFlight = createInFlightPerKey(options.maxInFlightPerSite ?? 32);
  return {
    handles(request: Request): boolean {
      return new URL(request.url).pathname.startsWith('/__aiplugs-bridge/');
    },
    async fetch(request: Request, env: Bindings): Promise<Response> {
      const url = new URL(request.url);
      const verdict = identifyBridgedRequest(url.pathname, request.headers, options);
      if (!verdict.ok) return verdict.response;
      const { origin, grant, path } = verdict.identity;
      const done = inFlight.enter(siteOf(origin));
      if (!done) return refuse(429, 'too_many_requests', 'This site has too many AiPlugs calls in flight; try again shortly');
      try {
        const headers = new Headers();
        for (const name of FORWARDED_HEADERS) {
          const value = request.headers.get(name);
          if (value !== null) headers.set(name, value);
        }
        const hasBody = request.method !== 'GET' && request.method !== 'HEAD' && request.body !== null;
        const inner = new Request(`http://bridge.aiplugs.invalid${path}${url.search}`, {
          method: request.method,
          headers,
          signal: request.signal,
          ...(hasBody ? { body: request.body, duplex: 'half' } : {}),
        } as RequestInit);
        return await options.fetch(inner, { ...env, bridge: { origin, grant } });
      } finally {
        done();
      }
    },
  };
}
