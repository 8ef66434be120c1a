import type { WebSocket } from 'ws';
import type { Caller } from '../api/api-env.js';
import type { Logger } from '../events/logger.js';
import { CLOSE, type ClientMessage, type MessageId, type ServerMessage } from './connection-protocol.js';

/** Who a socket belongs to: one plugin on one page (or one direct client). */
export interface ConnectionIdentity {
  pluginId: string;
  clientId: string;
  caller: Caller;
}

export type InferMessage = Extract<ClientMessage, { type: 'infer' }>;

/** One adopted socket and the calls it has running. */
export interface Connection extends ConnectionIdentity {
  ws: WebSocket;
  key: string;
  alive: boolean;
  paused: boolean;
  calls: Map<MessageId, AbortController>;
  /** Calls received while `maxInFlight` were running; small, because reading pauses meanwhile. */
  backlog: InferMessage[];
}

/**
 * Which sockets replace each other: the same plugin and client id, and for pages the same origin
 * and page load (the capability's session). A page cannot kick another tab's socket by guessing
 * or copying its id, and two connections of one page (two ids) both live.
 */
export const keyOf = ({ pluginId, clientId, caller }: ConnectionIdentity) =>
  caller.kind === 'page' ? `${pluginId}\n${clientId}\n${caller.origin}\n${caller.session}` : `${pluginId}\n${clientId}`;

/** Stops one running call: its controller aborts, so nothing more of it is sent. */
export const abortCall = (connection: Connection, id: MessageId) => {
  const controller = connection.calls.get(id);
  connection.calls.delete(id);
  controller?.abort();
};

export const abortCalls = (connection: Connection) => {
  for (const controller of connection.calls.values()) controller.abort();
  connection.calls.clear();
  connection.backlog.length = 0;
};

/** Sends one message to a connection; false when it cannot be sent. */
export type Post = (connection: Connection, message: ServerMessage) => boolean;

const UNWRITABLE_ANSWER = { code: 'backend_error', message: 'the answer cannot be written as JSON' };

/**
 * A sender with backpressure towards the page: a peer with more than `maxBuffered` bytes queued
 * is not reading, and is closed (1013) rather than allowed to grow the gateway's memory.
 */
export function createPost(maxBuffered: number, logger: Logger): Post {
  return (connection, message) => {
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
    let text: string;
    try {
      text = JSON.stringify(message);
    } catch (error) {
      // What a plugin or the cloud answered, relayed: a value JSON cannot write (too deep, say).
      // The call it belongs to ends here, with an error, and nothing more of it is sent.
      logger.warn(`Not sending a ${message.type} to ${connection.pluginId} client ${connection.clientId}: ${(error as Error).message}`);
      if ('id' in message && message.id !== undefined) {
        abortCall(connection, message.id);
        ws.send(JSON.stringify({ type: 'error', id: message.id, error: UNWRITABLE_ANSWER }));
      }
      return false;
    }
    ws.send(text);
    return true;
  };
}
