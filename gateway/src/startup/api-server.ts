import { createServer } from 'node:http';
import { getRequestListener, RequestError, type ServerType } from '@hono/node-server';
import { errorBody } from '../api/api-error.js';
import type { ApiEnv } from '../api/api-env.js';
import { createBridgeEntry } from '../bridge/bridge-entry.js';
import type { CapabilityIssuer } from '../bridge/page-capability.js';
import type { GatewayConfig } from '../config/config-schema.js';
import { createConnectionManager, type ConnectionManager } from '../connections/connection-manager.js';
import { attachWebSocketEndpoint } from '../connections/websocket-endpoint.js';
import type { Logger } from '../events/logger.js';
import type { InferenceRouter } from '../inference/inference-router.js';
import { LOOPBACK } from '../net/pick-port.js';
import { isAddressInUse, PortInUseError } from '../net/port-in-use.js';
import type { PluginRegistry } from '../plugins/plugin-registry.js';

type FetchApp = { fetch: (request: Request, env: ApiEnv['Bindings']) => Response | Promise<Response> };

/**
 * How long the API keeps an idle kept-alive socket. The proxy reuses its sockets to the API, and
 * were the API to close one first, a bridge request written in that instant would be reset and
 * reach the page as a 502 (seen under load). The proxy drops idle upstream sockets after 4 s
 * (patches/README.md, "upstream-idle"); the API waits far longer, so the proxy side always closes.
 */
export const API_KEEP_ALIVE_MS = 65_000;

/** How long a stopping API waits for answers already being written before it closes every connection. */
const CLOSE_GRACE_MS = 250;

/** The API server's socket timeouts. */
export function limitApiSockets(server: ServerType): void {
  const http = server as ServerType & { headersTimeout: number; requestTimeout: number; keepAliveTimeout: number };
  // A client that dribbles its head or body ties up only its own socket, and not for long.
  http.headersTimeout = 10_000;
  http.requestTimeout = 30_000;
  http.keepAliveTimeout = API_KEEP_ALIVE_MS;
}

/**
 * What the HTTP adapter answers a request it cannot make a URL of (a Host such as `a:b` or
 * `127.0.0.1:99999`): the API's error shape, where the adapter's own answer was an empty 400.
 * Anything else that fails before the app answers is the gateway's fault, and says no more.
 */
function answerUnservable(error: unknown): Response {
  return error instanceof RequestError
    ? Response.json(errorBody('bad_request', 'The request line or Host header is malformed'), { status: 400 })
    : Response.json(errorBody('internal_error', 'The gateway could not answer this request'), { status: 500 });
}

function listen(app: FetchApp, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    // serve() would make the same server, but passes no errorHandler on to the listener.
    const server = createServer(getRequestListener(app.fetch as never, { hostname: LOOPBACK, errorHandler: answerUnservable }));
    server.once('error', reject);
    limitApiSockets(server);
    server.listen(port, LOOPBACK, () => resolve(server));
  });
}

export interface ApiServerOptions {
  api: FetchApp;
  apiPort: number;
  config: GatewayConfig;
  token: string;
  registry: PluginRegistry;
  router: InferenceRouter;
  capabilities: CapabilityIssuer;
  bridgeSecret: string;
  stillActiveOnSite: (origin: string, pluginId: string) => boolean;
  logger: Logger;
}

export interface ApiServer {
  server: ServerType;
  /** The bridge's entry, for the requests the proxy answers in this process (proxy/bridge-rules.ts). */
  bridgeFetch: (request: Request) => Promise<Response>;
  connections: ConnectionManager;
  webSockets: { close(): void };
  /** Closes the listener and every HTTP connection (WebSockets are closed by `connections`). */
  close(): Promise<void>;
}

/** Serves the API on loopback: bridge requests from the proxy, the API itself, and plugin WebSockets. */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { api, apiPort, config, capabilities, bridgeSecret, logger } = options;
  const bridge = createBridgeEntry({ fetch: api.fetch, secret: bridgeSecret, capabilities, maxInFlightPerSite: config.api.max_page_requests_in_flight });
  const server = await listen({ fetch: (request, env) => (bridge.handles(request) ? bridge.fetch(request, env) : api.fetch(request, env)) }, apiPort).catch((error: unknown) => {
    throw isAddressInUse(error) ? new PortInUseError('api', apiPort) : error;
  });
  const connections = createConnectionManager({ router: options.router, logger: logger.child('ws'), activeOnSite: options.stillActiveOnSite });
  const webSockets = attachWebSocketEndpoint(server, {
    connections,
    token: options.token,
    registry: options.registry,
    activeOnSite: options.stillActiveOnSite,
    capabilities,
    bridgeSecret,
    apiOrigins: () => [`http://${LOOPBACK}:${apiPort}`, `http://localhost:${apiPort}`],
    logger: logger.child('ws'),
  });
  const close = () =>
    new Promise<void>((resolve) => {
      const http = server as { closeIdleConnections?: () => void; closeAllConnections?: () => void };
      server.close(() => resolve());
      http.closeIdleConnections?.();
      // Answers being written (the 503s of calls the shutdown ended) get a moment to go out; event
      // streams never end by themselves, so every connection is closed after it.
      setTimeout(() => http.closeAllConnections?.(), CLOSE_GRACE_MS).unref();
    });
  return { server, connections, webSockets, bridgeFetch: (request) => bridge.fetch(request, {}), close };
}
