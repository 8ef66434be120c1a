import type { Logger } from '../events/logger.js';
import { abortCalls, type Connection } from './connection.js';

/** Pings every connection it reads each `heartbeatMs`; a peer that has not answered the previous ping is dropped. Returns the stop function. */
export function startHeartbeat(connections: Iterable<Connection>, heartbeatMs: number, logger: Logger): () => void {
  const heartbeat = setInterval(() => {
    for (const connection of connections) {
      if (connection.paused) {
        // Not read while its calls run (backpressure), so its pongs wait unread: no sign of a dead
        // peer. It starts afresh once read again (connection-calls.ts); a dead one is closed once
        // its calls end and it is read again, or sooner by the send side (createPost) if what it
        // is sent piles up.
        continue;
      }
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
  return () => clearInterval(heartbeat);
}
