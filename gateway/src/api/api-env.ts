import type { IncomingMessage } from 'node:http';
import type { PageGrant } from '../bridge/page-capability.js';

/**
 * Who is calling. `user` came in on the API port with the token (CLI, dashboard, extension);
 * `page` came through the proxy's same-origin bridge from a document the proxy injected, and
 * holds that document's capability: its origin, its load (`session`) and its plugins.
 */
export type Caller = { kind: 'user' } | { kind: 'page'; origin: string; session: string };

/**
 * Set only by the bridge entry after it verified the proxy's secret and the page's capability;
 * nothing on the network can forge it.
 */
export interface BridgeBinding {
  origin: string;
  grant: PageGrant;
}

export interface ApiEnv {
  Bindings: { incoming?: IncomingMessage; bridge?: BridgeBinding };
  Variables: { caller: Caller };
}
