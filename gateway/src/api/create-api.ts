import { Hono } from 'hono';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../events/logger.js';
import type { InferenceRouter } from '../inference/inference-router.js';
import type { PluginMatch, PluginRegistry } from '../plugins/plugin-registry.js';
import type { SettingsStore } from '../settings/settings-store.js';
import { allowedMethods } from './allowed-methods.js';
import { ApiError, errorBody, toErrorResponse } from './api-error.js';
import { pageErrorBody } from './page-errors.js';
import type { ApiEnv, Caller } from './api-env.js';
import { guardRequests, isPublicRoute, type GuardOptions } from './guard-requests.js';
import { limitBodies, type BodyLimits } from './limit-bodies.js';
import { eventRoutes } from './routes/event-routes.js';
import { injectionRoutes } from './routes/injection-routes.js';
import { createPluginFileReader } from './routes/plugin-files.js';
import { pluginRoutes } from './routes/plugin-routes.js';
import { settingsRoutes } from './routes/settings-routes.js';

export interface ApiOptions {
  version: string;
  token: string;
  registry: PluginRegistry;
  activePlugins: (url: string) => PluginMatch[];
  /** Whether a plugin still runs on a site (pause and switches since the page was injected). */
  activeOnSite: (origin: string, pluginId: string) => boolean;
  /** Mints a bridge base for an origin and plugin ids (for the extension, after SPA navigations). */
  bridgeBase: (origin: string, plugins: string[]) => string;
  /** Whether Web AI still works on a site (enabled, not paused or switched off there). Default: never. */
  webAiOnSite?: (origin: string) => boolean;
  bodyLimits: BodyLimits;
  settings: SettingsStore;
  router: InferenceRouter;
  bus: EventBus;
  logger: Logger;
  ca: CertificateAuthority;
  /** Filled in once the servers listen: ports are only known then. */
  addresses: () => { apiPort: number; proxyPort: number };
  /** Extra sub-apps from other capabilities (models, settings, dashboard), mounted at their paths. */
  mounts?: Array<{ path: string; app: Hono<ApiEnv> }>;
  /** The dashboard's session check (cookie from its one-time login link). */
  isDashboardSession?: GuardOptions['isDashboardSession'];
  /** Calls the extension may make at once for one site (net/site-of.ts; `api.max_page_requests_in_flight`). */
  maxPageRequestsInFlight?: number;
}

/**
 * The gateway's HTTP API as a plain Hono app: served on the API port and, for pages, through the
 * proxy's same-origin bridge (which calls `app.fetch` in-process with a `bridge` binding).
 */
export function createApi(options: ApiOptions): Hono<ApiEnv> {
  const startedAt = Date.now();
  const apiOrigins = () => {
    const { apiPort } = options.addresses();
    return [`http://127.0.0.1:${apiPort}`, `http://localhost:${apiPort}`];
  };
  const app = new Hono<ApiEnv>();
  app.onError((error, c) => {
    // Through the bridge, or through the extension for a page it serves (the caller says which page).
    const caller = c.get('caller') as Caller | undefined;
    const pageOrigin = c.env?.bridge?.origin ?? (caller?.kind === 'page' ? caller.origin : undefined);
    if (!pageOrigin) return toErrorResponse(error, c, (unexpected) => options.logger.error(`API ${c.req.method} ${c.req.path}: ${(unexpected as Error).stack ?? String(unexpected)}`));
    // A page gets a code and a generic message; the detail (paths, stderr, URLs) is for the user's log.
    const detail = error instanceof ApiError ? `${error.code}: ${error.message}` : ((error as Error).stack ?? String(error));
    options.logger.warn(`Page call ${c.req.method} ${c.req.path} from ${pageOrigin} failed: ${detail}`);
    return c.json(pageErrorBody(error), error instanceof ApiError ? error.status : 500);
  });
  app.notFound((c) => c.json({ error: { code: 'not_found', message: `No route ${c.req.method} ${c.req.path}` } }, 404));
  // Who is calling is decided on the head; only then is a (bounded) body read.
  app.use('*', guardRequests({ token: options.token, activeOnSite: options.activeOnSite, webAiOnSite: options.webAiOnSite, apiOrigins, isDashboardSession: options.isDashboardSession, maxPageCallsInFlight: options.maxPageRequestsInFlight }));
  app.use('*', limitBodies(options.bodyLimits, isPublicRoute));
  app.get('/api/health', (c) => {
    const { apiPort, proxyPort } = options.addresses();
    return c.json({ status: 'ok', name: 'aiplugs', version: options.version, apiPort, proxyPort, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) });
  });
  // The WebSocket endpoint's upgrades are taken before Hono sees them; a plain request there is a
  // client that did not ask to upgrade (RFC 9110 §15.5.22: 426 names the protocol in Upgrade).
  app.all('/ws', (c) => c.json(errorBody('upgrade_required', `${c.req.method} /ws is the WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)`), 426, { upgrade: 'websocket' }));
  app.get('/api/ca.pem', (c) => c.body(options.ca.cert, 200, { 'content-type': 'application/x-pem-file', 'content-disposition': 'attachment; filename="aiplugs-ca.pem"' }));
  // One reader for both: what the proxy's pages and the extension's fallback load comes from one cache.
  const files = createPluginFileReader(options.registry);
  app.route('/api/plugins', pluginRoutes(options.registry, options.router, files));
  app.route('/api/events', eventRoutes(options.bus));
  app.route('/api/settings', settingsRoutes(options.settings, options.registry, options.activePlugins));
  app.route('/api/inject', injectionRoutes({ version: options.version, activePlugins: options.activePlugins, apiPort: () => options.addresses().apiPort, bridgeBase: options.bridgeBase, files }));
  for (const mount of options.mounts ?? []) app.route(mount.path, mount.app);
  app.all('/api/*', (c) => {
    const allow = allowedMethods(app, c.req.path);
    if (allow.length === 0) throw new ApiError(404, 'not_found', 'No such API route');
    c.header('allow', allow.join(', '));
    throw new ApiError(405, 'method_not_allowed', `${c.req.method} is not answered here; use ${allow.join(', ')}`);
  });
  return app;
}
