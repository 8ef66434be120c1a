import type { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Caller } from '../api/api-env.js';
import { tokensEqual } from '../api/token-compare.js';
import type { Logger } from '../events/logger.js';
import { pluginIdSchema } from '../plugins/manifest-schema.js';
import type { PluginRegistry } from '../plugins/plugin-registry.js';
import { identifyBridgedRequest } from '../bridge/bridge-entry.js';
import type { CapabilityIssuer } from '../bridge/page-capability.js';
import type { ConnectionIdentity, ConnectionManager } from './connection-manager.js';
import { clientIdSchema, CLOSE, MAX_FRAME_BYTES } from './connection-protocol.js';
import { createPageSocketQuota, type PageSocketLimits } from './page-socket-quota.js';
import { bearerToken } from '../api/bearer-token.js';

export interface WebSocketEndpointOptions {
  connections: ConnectionManager;
  token: string;
  registry: PluginRegistry;
  /** Whether a plugin still runs on a site (pause and switches since the page was injected). */
  activeOnSite: (origin: string, pluginId: string) => boolean;
  /** Checks the capability a page's socket path carries. */
  capabilities: CapabilityIssuer;
  /** The proxy's per-process secret (see proxy/bridge-rules.ts). */
  bridgeSecret: string;
  /** Origins allowed to open direct sockets from a browser (the dashboard's own). */
  apiOrigins: () => string[];
  logger: Logger;
  /** Largest frame a page may send. Default MAX_FRAME_BYTES (1 MiB). */
  maxPayloadBytes?: number;
  /** Plugin sockets pages may hold open (DEFAULT_PAGE_SOCKET_LIMITS). */
  pageSocketLimits?: PageSocketLimits;
}

/** Why an upgrade is refused: before the handshake (an HTTP status), or after it (a close code the runtime understands). */
type Refusal = { kind: 'http'; status: number; code: string; message: string } | { kind: 'close'; closeCode: number; message: string };
type Verdict = { ok: true; identity: ConnectionIdentity } | ({ ok: false } & Refusal);

const refuse = (status: number, code: string, message: string): Verdict => ({ ok: false, kind: 'http', status, code, message });

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The plugin and client a socket is for, from its query; null with a reason when malformed. */
function parseTarget(url: URL): { pluginId: string; clientId: string } | { problem: string } {
  const pluginId = pluginIdSchema.safeParse(url.searchParams.get('plugin_id') ?? '');
  if (!pluginId.success) return { problem: 'plugin_id is missing or malformed' };
  const clientId = clientIdSchema.safeParse(url.searchParams.get('client_id') ?? '');
  if (!clientId.success) return { problem: 'client_id is missing or malformed (1-128 of A-Z a-z 0-9 _ . : -)' };
  return { pluginId: pluginId.data, clientId: clientId.data };
}

/**
 * A page's socket, forwarded by the proxy from `wss://<site>/__aiplugs/cap/<token>/ws`: the same
 * head checks as bridged HTTP (secret, origin, capability, fetch metadata), then the plugin must
 * be one the capability lists and still active on the site.
 */
function authorizeBridged(request: IncomingMessage, url: URL, options: WebSocketEndpointOptions): Verdict {
  const headers = { get: (name: string) => header(request, name) ?? null };
  const verdict = identifyBridgedRequest(url.pathname, headers, { secret: options.bridgeSecret, capabilities: options.capabilities });
  if (!verdict.ok) return refuse(verdict.response.status, 'forbidden', 'Not a socket of an injected page');
  const { origin, grant, path } = verdict.identity;
  if (path !== '/ws') return refuse(404, 'not_found', 'No WebSocket endpoint here');
  const target = parseTarget(url);
  if ('problem' in target) return refuse(400, 'invalid_query', target.problem);
  if (!grant.plugins.includes(target.pluginId) || !options.activeOnSite(origin, target.pluginId)) {
    return { ok: false, kind: 'close', closeCode: CLOSE.forbidden, message: `plugin "${target.pluginId}" is not active on this page` };
  }
  return { ok: true, identity: { ...target, caller: { kind: 'page', origin, session: grant.session } satisfies Caller } };
}

function authorizeDirect(request: IncomingMessage, url: URL, options: WebSocketEndpointOptions): Verdict {
  // The same DNS-rebinding and cross-site defences as the HTTP API (guard-requests.ts).
  const allowed = options.apiOrigins();
  const host = header(request, 'host') ?? '';
  if (!allowed.some((origin) => origin.endsWith(`//${host}`))) return refuse(403, 'forbidden_host', `Host "${host}" is not this gateway`);
  const origin = header(request, 'origin');
  if (origin && !allowed.includes(origin) && !/^(chrome|moz|safari-web)-extension:\/\//.test(origin)) {
    return refuse(403, 'forbidden_origin', `Origin "${origin}" may not open gateway sockets`);
  }
  const authorization = header(request, 'authorization') ?? '';
  // Browsers cannot set headers on a WebSocket, so `?token=` is accepted too (compared in constant time).
  const given = bearerToken(authorization) || (url.searchParams.get('token') ?? '');
  if (!given) return refuse(401, 'unauthorized', 'This socket needs the API token (Authorization: Bearer, or ?token=)');
  if (!tokensEqual(given, options.token)) return refuse(401, 'unauthorized', 'The API token is wrong');
  const target = parseTarget(url);
  if ('problem' in target) return refuse(400, 'invalid_query', target.problem);
  const record = options.registry.get(target.pluginId);
  // As the HTTP routes answer (requireRunnablePlugin): a broken plugin is disabled, not missing.
  if (!record) return refuse(404, 'plugin_not_found', `No plugin "${target.pluginId}" is installed`);
  if (record.status !== 'enabled') return refuse(409, 'plugin_disabled', `Plugin "${target.pluginId}" is disabled: ${record.errors.join('; ')}`);
  return { ok: true, identity: { ...target, caller: { kind: 'user' } } };
}

/** Decides whether an upgrade request may become a plugin socket, and as whom. Null: not ours. */
export function authorizeUpgrade(request: IncomingMessage, options: WebSocketEndpointOptions): Verdict | null {
  const url = new URL(request.url ?? '/', 'http://gateway.invalid');
  if (url.pathname === '/ws') return authorizeDirect(request, url, options);
  if (url.pathname.startsWith('/__aiplugs-bridge/')) return authorizeBridged(request, url, options);
  return null;
}

function rejectHandshake(socket: Duplex, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
}

/**
 * Serves plugin WebSockets on the API server (any node:http-style server, via its 'upgrade' event):
 * `/ws?plugin_id=&client_id=` for direct callers with the token, and the secret bridge path for
 * pages, which the proxy forwards from `wss://site/__aiplugs/cap/<token>/ws`. Accepted sockets go
 * to the connection manager.
 *
 * @example
 *   const endpoint = attachWebSocketEndpoint(apiServer, { connections, token, registry, activeOnSite, capabilities, bridgeSecret, apiOrigins, logger });
 *   // on shutdown: endpoint.close();
 */
export function attachWebSocketEndpoint(server: EventEmitter, options: WebSocketEndpointOptions): { close(): void } {
  // The connection manager does its own heartbeats and bookkeeping; ws only does the protocol.
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes ?? MAX_FRAME_BYTES, perMessageDeflate: false, clientTracking: false });
  const quota = createPageSocketQuota(options.pageSocketLimits);
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const verdict = withinQuota(authorizeUpgrade(request, options), socket);
    if (verdict === null) {
      // Another listener may own this path; if none does, answer rather than leave the socket hanging.
      if (server.listenerCount('upgrade') === 1) rejectHandshake(socket, 404, { error: { code: 'not_found', message: 'No WebSocket endpoint here' } });
      return;
    }
    if (!verdict.ok && verdict.kind === 'http') {
      rejectHandshake(socket, verdict.status, { error: { code: verdict.code, message: verdict.message } });
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      if (!verdict.ok) {
        // A 4403 close, unlike a failed handshake, tells the page runtime not to retry.
        ws.close(verdict.closeCode, verdict.message.slice(0, 120));
        return;
      }
      options.connections.adopt(ws, verdict.identity);
    });
  };
  /** A page's socket holds its place from here until its connection closes, however it ends. */
  const withinQuota = (verdict: Verdict | null, socket: Duplex): Verdict | null => {
    if (!verdict?.ok || verdict.identity.caller.kind !== 'page') return verdict;
    const { origin, session } = verdict.identity.caller;
    const place = quota.take(origin, session);
    if (!place.ok) return { ok: false, kind: 'close', closeCode: CLOSE.tooMany, message: `too many sockets: ${place.reason}` };
    socket.once('close', place.release);
    return verdict;
  };
  server.on('upgrade', onUpgrade);
  return {
    close() {
      server.off('upgrade', onUpgrade);
      wss.close();
    },
  };
}
