import { randomBytes } from 'node:crypto';
import type { MockedEndpoint, Mockttp } from 'mockttp';
import { LOOPBACK } from '../net/pick-port.js';

/** Where page scripts open their socket: same origin as the page, so no CORS and no localhost. */
export const PAGE_WEBSOCKET_PATH = '/__aiplugs/ws';

/**
 * A per-process secret that only the proxy knows. The bridge rule puts it into the path of the
 * upgrade it forwards to the API port; the API accepts page sockets only on that path. Nothing is
 * ever sent to a browser that contains it, so no page (and no other local program) can claim
 * to be "a page that came through the proxy".
 */
export const BRIDGE_SECRET = randomBytes(32).toString('base64url');

/** The API-side path of bridged page sockets. */
export function bridgedWebSocketPath(secret: string = BRIDGE_SECRET): string {
  return `/__aiplugs-bridge/${secret}/ws`;
}

export interface BridgeWebSocketRuleOptions {
  /** The API port, where the connection manager accepts sockets. */
  apiPort: number;
  /** Defaults to this process's BRIDGE_SECRET (what the API side checks by default). */
  secret?: string;
}

/** True for `ws(s)://<any site>/__aiplugs/ws?…`: the page runtime's `AiPlugs.connect`. */
export function isPageWebSocketRequest(url: string): boolean {
  try {
    return new URL(url).pathname === PAGE_WEBSOCKET_PATH;
  } catch {
    return false;
  }
}

/**
 * The proxy rule for page WebSockets: `wss://site/__aiplugs/ws?plugin_id=&client_id=` is forwarded,
 * as plain ws on loopback, to the API port's connection manager. The request keeps its headers —
 * `Origin` (the page's origin, set by the browser, not by the page's script) and `Host` (the site)
 * — so the API can check which page asks, and its path is rewritten to carry BRIDGE_SECRET as proof
 * that the proxy forwarded it. It outranks the proxy's catch-all WebSocket passthrough whatever
 * order the rules are added in.
 *
 * @example
 *   // in createProxy, next to the HTTP bridge rule:
 *   await bridgeWebSocketRule(server, { apiPort: options.apiPort() });
 */
export function bridgeWebSocketRule(server: Mockttp, options: BridgeWebSocketRuleOptions): Promise<MockedEndpoint> {
  const secret = options.secret ?? BRIDGE_SECRET;
  return server
    .forAnyWebSocket()
    .matching((request) => isPageWebSocketRequest(request.url))
    .asPriority(2) // RulePriority.DEFAULT is 1: above every ordinary rule
    .always()
    .thenPassThrough({
      transformRequest: {
        setProtocol: 'ws',
        replaceHost: { targetHost: `${LOOPBACK}:${options.apiPort}`, updateHostHeader: false },
        matchReplacePath: [[/^\/__aiplugs\/ws$/, bridgedWebSocketPath(secret)]],
      },
    });
}
