import type { Mockttp } from 'mockttp';
import { FORWARDED_BRIDGE_PREFIX, PAGE_BRIDGE_PREFIX, type BridgeScheme } from '../bridge/bridge-paths.js';
import { LOOPBACK } from '../net/pick-port.js';

export interface BridgeRulesOptions {
  /** The API port: bridged requests are forwarded there, where the bridge entry checks them. */
  apiPort: number;
  /** The per-process secret put into every forwarded path; never sent to a browser. */
  secret: string;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** `<scheme>://host[:port]/__aiplugs/…` (HTTP) — a URL matcher, unlike a callback, never waits for a body. */
export function bridgeUrlPattern(scheme: BridgeScheme): RegExp {
  return new RegExp(`^${scheme}://[^/?#]*${escape(PAGE_BRIDGE_PREFIX)}`, 'i');
}

/** `ws(s)://<site>/__aiplugs/cap/<token>/ws`: a page runtime's `AiPlugs.connect`. */
export function isPageWebSocketUrl(url: string, scheme: BridgeScheme): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === (scheme === 'https' ? 'wss:' : 'ws:') && /^\/__aiplugs\/cap\/[^/]+\/ws$/.test(parsed.pathname);
  } catch {
    return false;
  }
}

/** How a page-side path becomes the API-side one: the secret and the page's scheme go in front. */
function forwardPath(scheme: BridgeScheme, secret: string): [RegExp, string] {
  return [new RegExp(`^${escape(PAGE_BRIDGE_PREFIX)}`), `${FORWARDED_BRIDGE_PREFIX}${secret}/${scheme}/`];
}

/**
 * The proxy's bridge rules: every request and WebSocket to `/__aiplugs/…` on any site is streamed,
 * as plain HTTP on loopback, to the API port, its path rewritten to carry the proxy's secret and
 * the page's scheme, its `Host` kept as the site's (the origin the page's capability must match).
 * Nothing is buffered here: the API decides on the head and reads a capped body. The site's
 * cookies and credentials are dropped; they are none of the gateway's business.
 *
 * @example
 *   await addBridgeRules(server, { apiPort, secret });
 */
export async function addBridgeRules(server: Mockttp, options: BridgeRulesOptions): Promise<void> {
  const targetHost = `${LOOPBACK}:${options.apiPort}`;
  for (const scheme of ['http', 'https'] as const) {
    await server
      .forAnyRequest()
      .withUrlMatching(bridgeUrlPattern(scheme))
      .always()
      .thenPassThrough({
        transformRequest: {
          setProtocol: 'http',
          replaceHost: { targetHost, updateHostHeader: false },
          matchReplacePath: [forwardPath(scheme, options.secret)],
          updateHeaders: { cookie: undefined, authorization: undefined },
        },
      });
    await server
      .forAnyWebSocket()
      .matching((request) => isPageWebSocketUrl(request.url, scheme))
      .asPriority(2) // above the catch-all WebSocket passthrough, whatever the order rules are added in
      .always()
      .thenPassThrough({
        transformRequest: {
          setProtocol: 'ws',
          replaceHost: { targetHost, updateHostHeader: false },
          matchReplacePath: [forwardPath(scheme, options.secret)],
        },
      });
  }
}
