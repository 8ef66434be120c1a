import type { ConnectionCalls } from './connection-calls.js';
import type { Connection, Post } from './connection.js';
import { decodeClientMessage } from './connection-protocol.js';

/** Handles one frame from a page: any frame proves the peer alive; bad ones are answered with an `error`. */
export function handleFrame(connection: Connection, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean, { post, calls }: { post: Post; calls: ConnectionCalls }): void {
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
      calls.accept(connection, message);
      return;
    case 'cancel':
      calls.cancel(connection, message.id);
      return;
    case 'ping':
      post(connection, message.t === undefined ? { type: 'pong' } : { type: 'pong', t: message.t });
      return;
  }
}
