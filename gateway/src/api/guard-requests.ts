import type { MiddlewareHandler } from 'hono';
import { ApiError } from './api-error.js';
import type { ApiEnv } from './api-env.js';
import { createInFlightPerKey } from './in-flight-per-key.js';
import { PAGE_ORIGIN_HEADER, pageOriginOf } from './page-origin.js';
import { createSignedCallCheck, type SignedCallVerdict } from './signed-calls.js';
import { tokensEqual } from './token-compare.js';
import { SIGNED_CALL_SCHEME } from '../pairing/token-proof.js';
import { siteOf } from '../net/site-of.js';
import { SESSION_KEY_HEADER, SESSION_KEY_PARAM } from '../dashboard/page/session-names.js';
import { bearerToken } from './bearer-token.js';

/**
 * What a dashboard session's cookie reaches alone, by exact route as sent: the dashboard's page
 * (which holds no secret) and signing out (a form, which sends no key). Everything else also needs
 * the session's key: a list of what may go without it, since a route matched another way (a
 * percent-encoded `/%61pi/…` reaches `/api/…`) must not slip through.
 */
const COOKIE_ONLY_ROUTES: ReadonlySet<string> = new Set(['GET /', 'POST /logout']);

/**
 * The dashboard session key a request carries: null where the cookie alone will do, else the key
 * in the header, or in the query of the event stream, which EventSource opens without headers.
 */
function dashboardKey(route: string, url: URL, header: string | undefined): string | null | undefined {
  if (COOKIE_ONLY_ROUTES.has(route)) return null;
  if (header !== undefined) return header;
  return route === 'GET /api/events' ? (url.searchParams.get(SESSION_KEY_PARAM) ?? undefined) : undefined;
}

/** Routes anyone on this machine may read without the token: liveness and the public CA certificate. */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set([
  'GET /api/health',
  'GET /api/ca.pem',
  // The dashboard's sign-in page (one-time link or token form) and its static files (no secrets).
  'GET /login',
  'POST /login',
  'GET /dashboard/dashboard.css',
  'GET /dashboard/dashboard.js',
  // The one-time pairing code is the credential, and only its extension's Origin may use it (pairing/).
  'POST /api/pairing/redeem',
  // Proves the gateway holds the token without revealing it (pairing/token-proof.ts).
  'POST /api/pairing/proof',
]);

/** True for a route anyone on this machine may call without the token. */
export function isPublicRoute(method: string, path: string): boolean {
  return PUBLIC_ROUTES.has(`${method} ${path}`);
}

/** Methods that change something: a cookie-authenticated call must also prove its Origin. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What a bridged page may call, and for which plugin: only plugin-scoped calls. */
const PAGE_ROUTES: Array<{ method: string; pattern: RegExp }> = [
  { method: 'POST', pattern: /^\/api\/plugins\/([^/]+)\/infer$/ },
  { method: 'GET', pattern: /^\/api\/plugins\/([^/]+)\/files\/.+$/ },
  { method: 'GET', pattern: /^\/api\/plugins\/([^/]+)\/models\/status$/ },
];

/** Web AI routes a page may call (`/api/webai/<api>/<verb>`); `GET /api/webai/status` is not one. */
const PAGE_WEBAI_ROUTE = /^\/api\/webai\/[a-z-]{1,32}\/[a-z]{1,16}$/;

/** The plugin a bridged page call targets, or null if pages may not make this call at all. */
export function pagePluginTarget(method: string, path: string, query: URLSearchParams): string | null {
  for (const route of PAGE_ROUTES) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(path);
    if (!match) continue;
    if (match[1] === undefined) return query.get('plugin_id');
    try {
      return decodeURIComponent(match[1]);
    } catch {
      throw new ApiError(400, 'invalid_path', 'The plugin id is not valid percent-encoding');
    }
  }
  return null;
}

export interface GuardOptions {
  token: string;
  /**
   * Whether a plugin still runs on a site (not paused or switched off there since the page was
   * injected). A page may call a plugin only if its capability lists it AND this holds.
   */
  activeOnSite: (origin: string, pluginId: string) => boolean;
  /** Whether Web AI still works on a site; a page may call it only if its capability has the grant AND this holds. */
  webAiOnSite?: ((origin: string) => boolean) | undefined;
  /** Origins allowed to call the API from a browser (the dashboard's own). */
  apiOrigins: () => string[];
  /** A dashboard session's cookie, and for API calls its key too (dashboard/dashboard-auth.ts); null: the dashboard's own pages. */
  isDashboardSession?: (cookieHeader: string | undefined, key: string | null | undefined) => boolean;
  /** Calls the extension may make at once for one site (net/site-of.ts; `api.max_page_requests_in_flight`); default 32. */
  maxPageCallsInFlight?: number;
}

const SIGNED_CALL_REFUSALS: Record<Exclude<SignedCallVerdict, 'ok'>, [status: 401 | 429, code: string, message: string]> = {
  invalid: [401, 'unauthorized', 'The call is not signed with the API token for this gateway and request'],
  stale: [401, 'unauthorized', "The call's signature is over a minute old or ahead (is the clock right?)"],
  replayed: [401, 'unauthorized', 'This signed call was already made once'],
  busy: [429, 'too_many_requests', 'Too many signed calls in the last two minutes; try again shortly'],
};

/**
 * Decides who is calling and whether they may: DNS-rebinding Host/Origin checks for direct calls,
 * the bearer token for everything but public routes, and for bridged pages only the plugins
 * whose content scripts cover that page.
 */
export function guardRequests(options: GuardOptions): MiddlewareHandler<ApiEnv> {
  const pageCalls = createInFlightPerKey(options.maxPageCallsInFlight ?? 32);
  const signedCalls = createSignedCallCheck(options.token);
  return async (c, next) => {
    const url = new URL(c.req.url);
    const route = `${c.req.method} ${url.pathname}`;
    const bridge = c.env?.bridge;
    if (bridge) {
      const { grant } = bridge;
      if (c.req.method === 'POST' && PAGE_WEBAI_ROUTE.test(url.pathname)) {
        // Web AI is not a plugin: the document must have been given the grant, and AiPlugs must still work on the site.
        if (!grant.webai || !options.webAiOnSite?.(bridge.origin)) throw new ApiError(403, 'webai_not_granted', 'Web AI is not granted to this page');
        c.set('caller', { kind: 'page', origin: bridge.origin, session: grant.session });
        return next();
      }
      const pluginId = pagePluginTarget(c.req.method, url.pathname, url.searchParams);
      if (pluginId === null) throw new ApiError(403, 'forbidden', 'Pages may only call their own plugins');
      if (!grant.plugins.includes(pluginId) || !options.activeOnSite(bridge.origin, pluginId)) {
        throw new ApiError(403, 'plugin_not_injected', `Plugin "${pluginId}" is not active on this page`);
      }
      c.set('caller', { kind: 'page', origin: bridge.origin, session: grant.session });
      return next();
    }
    const forPage = c.req.header(PAGE_ORIGIN_HEADER);
    const allowedOrigins = options.apiOrigins();
    const host = c.req.header('host') ?? '';
    if (!allowedOrigins.some((origin) => origin.endsWith(`//${host}`))) {
      throw new ApiError(403, 'forbidden_host', `Host "${host}" is not this gateway; use ${allowedOrigins[0] ?? '127.0.0.1'}`);
    }
    const origin = c.req.header('origin');
    if (origin && !allowedOrigins.includes(origin) && !/^(chrome|moz|safari-web)-extension:\/\//.test(origin)) {
      throw new ApiError(403, 'forbidden_origin', `Origin "${origin}" may not call the gateway API`);
    }
    const header = c.req.header('authorization') ?? '';
    if (!PUBLIC_ROUTES.has(route) && !header && options.isDashboardSession?.(c.req.header('cookie'), dashboardKey(route, url, c.req.header(SESSION_KEY_HEADER)))) {
      // Cookies ride along on cross-site requests too: changes need our own Origin (SameSite=Strict is the first line).
      if (!SAFE_METHODS.has(c.req.method) && !(origin && allowedOrigins.includes(origin))) {
        throw new ApiError(403, 'forbidden_origin', 'A dashboard session may only change things from the dashboard itself');
      }
      c.set('caller', { kind: 'user' });
      return next();
    }
    if (!PUBLIC_ROUTES.has(route) && c.req.method === 'GET' && !url.pathname.startsWith('/api/') && url.pathname !== '/ws' && (c.req.header('accept') ?? '').includes('text/html')) {
      // A browser opening the dashboard without a session: send it to the sign-in page.
      return c.redirect('/login', 303);
    }
    if (!PUBLIC_ROUTES.has(route)) {
      if (header.startsWith(`${SIGNED_CALL_SCHEME} `)) {
        // The Host is one of ours (checked above), so its port is the one this gateway listens on.
        const verdict = await signedCalls(header, { apiPort: Number(new URL(`http://${host}`).port) || 80, method: c.req.method, target: url.pathname + url.search });
        if (verdict !== 'ok') throw new ApiError(...SIGNED_CALL_REFUSALS[verdict]);
      } else {
        const given = bearerToken(header);
        if (!given) throw new ApiError(401, 'unauthorized', 'This call needs the API token (Authorization: Bearer <token>; see `aiplugs status`)');
        if (!tokensEqual(given, options.token)) throw new ApiError(401, 'unauthorized', 'The API token is wrong');
      }
    }
    if (forPage !== undefined) {
      // The extension matched the plugin to the page's URL; pause and site switches apply here, as on the bridge.
      const pageOrigin = pageOriginOf(forPage);
      if (!pageOrigin) throw new ApiError(400, 'invalid_page_origin', `${PAGE_ORIGIN_HEADER} must be an http(s) origin`);
      const pluginId = pagePluginTarget(c.req.method, url.pathname, url.searchParams);
      if (pluginId === null) throw new ApiError(403, 'forbidden', 'Pages may only call their own plugins');
      if (!options.activeOnSite(pageOrigin, pluginId)) throw new ApiError(403, 'plugin_not_injected', `Plugin "${pluginId}" is not active on this page`);
      const done = pageCalls.enter(siteOf(pageOrigin));
      if (!done) throw new ApiError(429, 'too_many_requests', 'This site has too many AiPlugs calls in flight; try again shortly');
      c.set('caller', { kind: 'page', origin: pageOrigin, session: 'extension' });
      try {
        return await next();
      } finally {
        done();
      }
    }
    c.set('caller', { kind: 'user' });
    return next();
  };
}
