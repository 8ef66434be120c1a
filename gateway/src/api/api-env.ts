import type { IncomingMessage } from 'node:http';

/**
 * Who is calling. `user` came in on the API port with the token (CLI, dashboard, extension);
 * `page` came through the proxy's same-origin bridge from a page the proxy injected.
 */
export type Caller = { kind: 'user' } | { kind: 'page'; pageUrl: string };

/** Set only by the in-process bridge; nothing on the network can forge it. */
export interface BridgeBinding {
  pageUrl: string;
}

export interface ApiEnv {
  Bindings: { incoming?: IncomingMessage; bridge?: BridgeBinding };
  Variables: { caller: Caller };
}
