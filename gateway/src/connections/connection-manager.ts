import type { WebSocket } from 'ws';
import type { Logger } from '../events/logger.js';
import type { InferenceRouter } from '../inference/inference-router.js';
import { abortCalls, createPost, keyOf, type Connection, type ConnectionIdentity } from './connection.js';
import { createConnectionCalls } from './connection-calls.js';
import { handleFrame } from './connection-frames.js';
import { startHeartbeat } from './connection-heartbeat.js';
import { CLOSE } from './connection-protocol.js';

export type { ConnectionIdentity } from './connection.js';

export interface ConnectionManagerOptions {
  router: InferenceRouter;
  logger: Logger;
  /**
   * Whether a plugin still runs on a site: pause and per-site switches reach the sockets that pages
   * already hold, call by call and push by push, as they reach bridged HTTP calls.
   */
  activeOnSite: (origin: string, pluginId: string) => boolean;
  /** Ping interval; a peer that has not answered the previous ping is dropped. Default 30 s. */
  heartbeatMs?: number;
  /** Bytes queued for a peer before it is considered not to be reading and is closed (1013). Default 4 MiB. */
  maxBufferedBytes?: number;
  /** Calls one connection may have running; beyond it, reading from the socket pauses. Default 8. */
  maxInFlight?: number;
}

export interface ConnectionManager {
  /** Takes over an accepted socket; an older socket of the same plugin, client and page load is closed with 4000. */
  adopt(ws: WebSocket, identity: ConnectionIdentity): void;
  /** Sends `{type:"push", data}` to one client of a plugin; false if it is not connected. */
  send(pluginId: string, clientId: string, data: unknown): boolean;
  /** Sends `{type:"push", data}` to every connected client of a plugin; returns how many got it. */
  broadcast(pluginId: string, data: unknown): number;
  /** Open connections (for health, tests and leak checks). */
  size(): number;
  /** Closes every connection with 1001 "going away" and stops the heartbeat. */
  close(): Promise<void>;
}

/**
 * The connection manager: at most one live WebSocket per plugin_id + client_id (a reconnecting
 * page replaces its zombie), ping/pong heartbeats that drop dead peers, and
 * plugin calls over the socket with partial results streamed as `chunk` messages. Backpressure
 * both ways: a page that sends faster than calls finish stops being read; a page that does not
 * read what it is sent is disconnected rather than allowed to grow the gateway's memory.
 *
 * @example
 *   const connections = createConnectionManager({ router, logger, activeOnSite });
 *   attachWebSocketEndpoint(apiServer, { connections, … }); // adopts authorized sockets
 */
export function createConnectionManager(options: ConnectionManagerOptions): ConnectionManager {
  const heartbeatMs = options.heartbeatMs ?? 30_000;
  const { logger } = options;
  const live = new Map<string, Connection>();
  const all = new Set<Connection>();
  const post = createPost(options.maxBufferedBytes ?? 4 * 1024 * 1024, logger);
  const allowed = (connection: Connection) => connection.caller.kind !== 'page' || options.activeOnSite(connection.caller.origin, connection.pluginId);
  const calls = createConnectionCalls({ router: options.router, logger, post, allowed, maxInFlight: options.maxInFlight ?? 8 });
  const push = (connection: Connection, data: unknown) => allowed(connection) && post(connection, { type: 'push', data });
  const stopHeartbeat = startHeartbeat(all, heartbeatMs, logger);

  /** Closes a connection with 1001 and resolves once it is closed; a peer that does not answer is cut off. */
  const closeGoingAway = (connection: Connection) =>
    new Promise<void>((resolve) => {
      if (connection.ws.readyState === connection.ws.CLOSED) return resolve();
      connection.ws.once('close', () => resolve());
      abortCalls(connection);
      connection.ws.close(CLOSE.goingAway, 'the gateway is shutting down');
      setTimeout(() => connection.ws.terminate(), 1000).unref();
    });

  return {
    adopt(ws, identity) {
      const key = keyOf(identity);
      const connection: Connection = { ...identity, ws, key, alive: true, paused: false, calls: new Map(), backlog: [] };
      const previous = live.get(key);
      if (previous) {
        // The zombie killer: the page reconnected (navigation, network blip); the old socket may
        // look open for minutes. The newest one wins; the old one is told why.
        abortCalls(previous);
        previous.ws.close(CLOSE.replaced, 'replaced by a newer connection of this client');
      }
      live.set(key, connection);
      all.add(connection);
      ws.on('pong', () => {
        connection.alive = true;
      });
      ws.on('message', (data, isBinary) => {
        // A frame is the page's input: whatever a bug makes of it ends that socket, never the process.
        try {
          handleFrame(connection, data, isBinary, { post, calls });
        } catch (error) {
          logger.error(`WebSocket ${identity.pluginId}/${identity.clientId}: a message could not be handled: ${(error as Error).stack ?? String(error)}`);
          abortCalls(connection);
          ws.close(CLOSE.internalError, 'the gateway could not handle that message');
        }
      });
      ws.on('error', (error) => logger.debug(`WebSocket ${identity.pluginId}/${identity.clientId}: ${error.message}`));
      ws.once('close', () => {
        all.delete(connection);
        if (live.get(key) === connection) live.delete(key);
        abortCalls(connection);
      });
      post(connection, { type: 'hello', plugin_id: identity.pluginId, client_id: identity.clientId, heartbeat_ms: heartbeatMs });
    },
    send(pluginId, clientId, data) {
      for (const connection of live.values()) {
        if (connection.pluginId === pluginId && connection.clientId === clientId) return push(connection, data);
      }
      return false;
    },
    broadcast(pluginId, data) {
      let sent = 0;
      for (const connection of live.values()) if (connection.pluginId === pluginId && push(connection, data)) sent += 1;
      return sent;
    },
    size: () => all.size,
    async close() {
      stopHeartbeat();
      await Promise.all([...all].map(closeGoingAway));
    },
  };
}
