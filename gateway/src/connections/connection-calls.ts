import { ApiError } from '../api/api-error.js';
import { pageErrorBody } from '../api/page-errors.js';
import type { Logger } from '../events/logger.js';
import type { InferenceRouter } from '../inference/inference-router.js';
import { abortCall, type Connection, type InferMessage, type Post } from './connection.js';
import type { MessageId } from './connection-protocol.js';

export interface CallOptions {
  router: InferenceRouter;
  logger: Logger;
  post: Post;
  /** Whether the connection's plugin may still be called (a page's: still active on its site). */
  allowed: (connection: Connection) => boolean;
  /** Calls one connection may have running; beyond it, reading from the socket pauses. */
  maxInFlight: number;
}

export interface ConnectionCalls {
  /** Starts a call, or holds it (and stops reading) while `maxInFlight` are running. */
  accept(connection: Connection, message: InferMessage): void;
  /** Stops a running or held call of this connection. */
  cancel(connection: Connection, id: MessageId): void;
}

/**
 * Plugin calls over a socket, partial results streamed as `chunk` messages. Backpressure from the
 * page: a page that sends faster than calls finish stops being read until they catch up.
 */
export function createConnectionCalls({ router, logger, post, allowed, maxInFlight }: CallOptions): ConnectionCalls {
  /** Starts backlogged calls while there is room; reads from the socket again once all have started. */
  const drain = (connection: Connection) => {
    while (connection.calls.size < maxInFlight && connection.backlog.length > 0) start(connection, connection.backlog.shift()!);
    if (connection.paused && connection.backlog.length === 0 && connection.calls.size < maxInFlight) {
      connection.paused = false;
      // Its pongs waited unread: the heartbeat judges it afresh from here (connection-heartbeat.ts).
      connection.alive = true;
      connection.ws.resume();
    }
  };

  /** What the caller is told: pages get a code and a generic message (the detail goes to the log). */
  const errorBody = (connection: Connection, error: unknown) => {
    if (!(error instanceof ApiError)) logger.error(`WebSocket call to ${connection.pluginId} failed: ${(error as Error).stack ?? String(error)}`);
    else if (connection.caller.kind === 'page') logger.warn(`Page socket call to ${connection.pluginId} from ${connection.caller.origin} failed: ${error.code}: ${error.message}`);
    if (connection.caller.kind === 'page') return pageErrorBody(error).error;
    return error instanceof ApiError ? { code: error.code, message: error.message } : { code: 'internal_error', message: 'The gateway hit an unexpected error; see its log' };
  };

  const start = (connection: Connection, message: InferMessage) => {
    if (!allowed(connection)) {
      const refusal = new ApiError(403, 'plugin_not_injected', `Plugin "${connection.pluginId}" is not active on this page`);
      post(connection, { type: 'error', id: message.id, error: errorBody(connection, refusal) });
      return;
    }
    const controller = new AbortController();
    connection.calls.set(message.id, controller);
    let mode: string | null = null;
    router
      .infer(connection.pluginId, {
        payload: message.payload,
        mode: message.mode,
        fallback: message.fallback,
        signal: controller.signal,
        caller: connection.caller,
        onChunk: message.stream === false ? undefined : (data) => void (controller.signal.aborted || post(connection, { type: 'chunk', id: message.id, data: data ?? null })),
        onMode: (served) => {
          mode = served;
        },
      })
      .then(
        (result) => {
          if (!controller.signal.aborted) post(connection, { type: 'result', id: message.id, result: result ?? null, mode });
        },
        (error: unknown) => {
          if (!controller.signal.aborted) post(connection, { type: 'error', id: message.id, error: errorBody(connection, error) });
        },
      )
      .finally(() => {
        if (connection.calls.get(message.id) === controller) connection.calls.delete(message.id);
        drain(connection);
      });
  };

  return {
    accept(connection, message) {
      if (connection.calls.has(message.id) || connection.backlog.some((queued) => queued.id === message.id)) {
        post(connection, { type: 'error', id: message.id, error: { code: 'duplicate_id', message: `A call with id ${JSON.stringify(message.id)} is already running` } });
        return;
      }
      if (connection.calls.size < maxInFlight) {
        start(connection, message);
        return;
      }
      // Full: hold this call and stop reading, so further frames wait in the socket and TCP slows
      // the page down (frames ws has already read still arrive, hence the small backlog).
      connection.backlog.push(message);
      if (!connection.paused) {
        connection.paused = true;
        connection.ws.pause();
      }
    },
    cancel(connection, id) {
      const queued = connection.backlog.findIndex((call) => call.id === id);
      if (queued !== -1) connection.backlog.splice(queued, 1);
      abortCall(connection, id);
      drain(connection);
    },
  };
}
