import type { WebSocket } from 'ws';
import type { Caller } from '../api/api-env.js';
import { ApiError } from '../api/api-error.js';
import { pageErrorBody } from '../api/page-errors.js';
import type { Logger } from '../events/logger.js';
import type { InferenceRouter } from '../inference/inference-router.js';
import { CLOSE, decodeClientMessage, type ClientMessage, type MessageId, type ServerMessage } from './connection-protocol.js';

/** Who a socket belongs to: one plugin on one page (or one direct client). */
export interface ConnectionIdentity {
  pluginId: string;
  clientId: string;
  caller: Caller;
}

export interface ConnectionManagerOptions {
  router: InferenceRouter;
  logger: Logger;
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

interface Connection extends ConnectionIdentity {
  ws: WebSocket;
  key: string;
  alive: boolean;
  paused: boolean;
  calls: Map<MessageId, AbortController>;
  /** Calls received while `maxInFlight` were running; small, because reading pauses meanwhile. */
  backlog: Array<Extract<ClientMessage, { type: 'infer' }>>;
}

/**
 * Which sockets replace each other: the same plugin and client id, and for pages the same origin
 * and page load (the capability's session). A page cannot kick another tab's socket by guessing
 * or copying its id, and two connections of one page (two ids) both live.
 */
const keyOf = ({ pluginId, clientId, caller }: ConnectionIdentity) =>
  caller.kind === 'page' ? `${pluginId}\n${clientId}\n${caller.origin}\n${caller.session}` : `${pluginId}\n${clientId}`;

/**
 * The connection manager: at most one live WebSocket per plugin_id + client_id (a reconnecting
 * page replaces its zombie, the seed's rule), ping/pong heartbeats that drop dead peers, and
 * plugin calls over the socket with partial results streamed as `chunk` messages. Backpressure
 * both ways: a page that sends faster than calls finish stops being read; a page that does not
 * read what it is sent is disconnected rather than allowed to grow the gateway's memory.
 *
 * @example
 *   const connections = createConnectionManager({ router, logger });
 *   attachWebSocketEndpoint(apiServer, { connections, … }); // adopts authorized sockets
 */
export function createConnectionManager(options: ConnectionManagerOptions): ConnectionManager {
  const heartbeatMs = options.heartbeatMs ?? 30_000;
  const maxBuffered = options.maxBufferedBytes ?? 4 * 1024 * 1024;
  const maxInFlight = options.maxInFlight ?? 8;
  const { logger } = options;
  const live = new Map<string, Connection>();
  const all = new Set<Connection>();

  const abortCalls = (connection: Connection) => {
    for (const controller of connection.calls.values()) controller.abort();
    connection.calls.clear();
    connection.backlog.length = 0;
  };

  const post = (connection: Connection, message: ServerMessage): boolean => {
    const { ws } = connection;
    if (ws.readyState !== ws.OPEN) return false;
    if (ws.bufferedAmount > maxBuffered) {
      logger.warn(`Closing ${connection.pluginId} client ${connection.clientId}: it stopped reading (${ws.bufferedAmount} bytes queued)`);
      abortCalls(connection);
      ws.close(CLOSE.tooSlow, 'the page is not reading its messages');
      // The close frame waits behind everything already queued; a peer that does not read will
      // not read that either, so its buffers are released after a short grace.
      setTimeout(() => ws.terminate(), 1000).unref();
      return false;
    }
    ws.send(JSON.stringify(message));
    return true;
  };

  /** Starts backlogged calls while there is room; reads from the socket again once all have started. */
  const drain = (connection: Connection) => {
    while (connection.calls.size < maxInFlight && connection.backlog.length > 0) startCall(connection, connection.backlog.shift()!);
    if (connection.paused && connection.backlog.length === 0 && connection.calls.size < maxInFlight) {
      connection.paused = false;
      connection.ws.resume();
    }
  };

  const acceptCall = (connection: Connection, message: Extract<ClientMessage, { type: 'infer' }>) => {
    if (connection.calls.has(message.id) || connection.backlog.some((queued) => queued.id === message.id)) {
      post(connection, { type: 'error', id: message.id, error: { code: 'duplicate_id', message: `A call with id ${JSON.stringify(message.id)} is already running` } });
      return;
    }
    if (connection.calls.size < maxInFlight) {
      startCall(connection, message);
      return;
    }
    // Full: hold this call and stop reading, so further frames wait in the socket and TCP slows
    // the page down (frames ws has already read still arrive, hence the small backlog).
    connection.backlog.push(message);
    if (!connection.paused) {
      connection.paused = true;
      connection.ws.pause();
    }
  };

  const startCall = (connection: Connection, message: Extract<ClientMessage, { type: 'infer' }>) => {
    const controller = new AbortController();
    connection.calls.set(message.id, controller);
    let mode: string | null = null;
    options.router
      .infer(connection.pluginId, {
        payload: message.payload,
        mode: message.mode,
        fallback: message.fallback,
        signal: controller.signal,
        caller: connection.caller,
        onChunk: message.stream === false ? undefined : (data) => void post(connection, { type: 'chunk', id: message.id, data: data ?? null }),
        onMode: (served) => {
          mode = served;
        },
      })
      .then(
        (result) => {
          if (!controller.signal.aborted) post(connection, { type: 'result', id: message.id, result: result ?? null, mode });
        },
        (error: unknown) => {
          if (controller.signal.aborted) return;
          if (!(error instanceof ApiError)) logger.error(`WebSocket call to ${connection.pluginId} failed: ${(error as Error).stack ?? String(error)}`);
          else if (connection.caller.kind === 'page') logger.warn(`Page socket call to ${connection.pluginId} from ${connection.caller.origin} failed: ${error.code}: ${error.message}`);
          // Pages get a code and a generic message; the detail is in the log line above.
          const body =
            connection.caller.kind === 'page'
              ? pageErrorBody(error).error
              : error instanceof ApiError
                ? { code: error.code, message: error.message }
                : { code: 'internal_error', message: 'The gateway hit an unexpected error; see its log' };
          post(connection, { type: 'error', id: message.id, error: body });
        },
      )
      .finally(() => {
        if (connection.calls.get(message.id) === controller) connection.calls.delete(message.id);
        drain(connection);
      });
  };

  const onMessage = (connection: Connection, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    connection.alive = true;
    if (isBinary) {
      post(connection, { type: 'error', error: { code: 'invalid_message', message: 'send JSON text frames, not binary ones' } });
      return;
    }
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    const decoded = decodeClientMessage(text);
    if (!decoded.ok) {
      post(connection, { type: 'error', error: { code: 'invalid_message', message: decoded.problem } });
      return;
    }
    const message = decoded.message;
    switch (message.type) {
      case 'infer':
        acceptCall(connection, message);
        return;
      case 'cancel': {
        const queued = connection.backlog.findIndex((call) => call.id === message.id);
        if (queued !== -1) connection.backlog.splice(queued, 1);
        const controller = connection.calls.get(message.id);
        connection.calls.delete(message.id);
        controller?.abort();
        drain(connection);
        return;
      }
      case 'ping':
        post(connection, message.t === undefined ? { type: 'pong' } : { type: 'pong', t: message.t });
        return;
    }
  };

  const heartbeat = setInterval(() => {
    for (const connection of all) {
      if (!connection.alive) {
        logger.debug(`Dropping ${connection.pluginId} client ${connection.clientId}: no pong since the last ping`);
        abortCalls(connection);
        connection.ws.terminate();
        continue;
      }
      connection.alive = false;
      try {
        connection.ws.ping();
      } catch {
        // the socket is closing; its close handler cleans up
      }
    }
  }, heartbeatMs);
  heartbeat.unref();

  return {
    adopt(ws, identity) {
      const key = keyOf(identity);
      const connection: Connection = { ...identity, ws, key, alive: true, paused: false, calls: new Map(), backlog: [] };
      const previous = live.get(key);
      if (previous) {
        // The seed's zombie killer: the page reconnected (navigation, network blip); the old socket
        // may look open for minutes. The newest one wins; the old one is told why.
        abortCalls(previous);
        previous.ws.close(CLOSE.replaced, 'replaced by a newer connection of this client');
      }
      live.set(key, connection);
      all.add(connection);
      ws.on('pong', () => {
        connection.alive = true;
      });
      ws.on('message', (data, isBinary) => onMessage(connection, data, isBinary));
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
        if (connection.pluginId === pluginId && connection.clientId === clientId) return post(connection, { type: 'push', data });
      }
      return false;
    },
    broadcast(pluginId, data) {
      let sent = 0;
      for (const connection of live.values()) if (connection.pluginId === pluginId && post(connection, { type: 'push', data })) sent += 1;
      return sent;
    },
    size: () => all.size,
    async close() {
      clearInterval(heartbeat);
      const closing = [...all].map(
        (connection) =>
          new Promise<void>((resolve) => {
            if (connection.ws.readyState === connection.ws.CLOSED) return resolve();
            connection.ws.once('close', () => resolve());
            abortCalls(connection);
            connection.ws.close(CLOSE.goingAway, 'the gateway is shutting down');
            // A peer that does not answer the close handshake is cut off.
            setTimeout(() => connection.ws.terminate(), 1000).unref();
          }),
      );
      await Promise.all(closing);
    },
  };
}
