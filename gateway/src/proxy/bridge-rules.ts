import type { CompletedRequest, Mockttp } from 'mockttp';
import { errorBody } from '../api/api-error.js';
import { FORWARDED_BRIDGE_PREFIX, PAGE_BRIDGE_PREFIX, type BridgeScheme } from '../bridge/bridge-paths.js';
import { MAX_FRAME_BYTES } from '../connections/connection-protocol.js';
import { LOOPBACK } from '../net/pick-port.js';

export interface BridgeRulesOptions {
  /** The API port: bridged requests are forwarded there, where the bridge entry checks them. */
  apiPort: number;
  /** The per-process secret put into every forwarded path; never sent to a browser. */
  secret: string;
  /**
   * The API port's own entry (startup/api-server.ts), called in this process for the files a page
   * loads while it parses; without it they go over loopback like every other bridged request.
   */
  fetchInProcess?: ((request: Request) => Promise<Response>) | undefined;
  /** What plugin sockets may hold in messages together, for each scheme (as sites' sockets: create-proxy.ts); no bound if unset. */
  maxTotalMessageBytes?: number | undefined;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * `<scheme>://host[:port]/__aiplugs/…` (HTTP) — a URL matcher, unlike a callback, never waits for a
 * body. Case-sensitive, as paths are: `/__AiPlugs/` is the site's (mockttp writes the scheme in
 * lower case, and the host may be in any).
 */
export function bridgeUrlPattern(scheme: BridgeScheme): RegExp {
  return new RegExp(`^${scheme}://[^/?#]*${escape(PAGE_BRIDGE_PREFIX)}`);
}

/** `<scheme>://host[:port]/__aiplugs/cap/<token>/api/plugins/<id>/files/<path>`: plugin files, which injected markup loads as blocking scripts and styles. */
export function bridgeFileUrlPattern(scheme: BridgeScheme): RegExp {
  return new RegExp(`^${scheme}://[^/?#]*${escape(PAGE_BRIDGE_PREFIX)}cap/[^/?#]+/api/plugins/[^/?#]+/files/[^?#]+(?:\\?[^#]*)?$`);
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

/** Never handed to the API, on either path: the site's credentials are none of the gateway's business. */
const DROPPED_HEADERS = ['cookie', 'authorization'];

/**
 * A bridged GET answered by the API's entry in this process: the same request the loopback hop
 * would deliver (`apiUrl`: the path with the secret and scheme; the site's Host and fetch
 * metadata), so the API decides exactly as it does for one that came over the wire. A GET's body
 * is ignored there; mockttp has read it by now (a callback step waits for the whole request),
 * keeping at most `maxBodySize` of it.
 */
async function answerInProcess(request: CompletedRequest, apiUrl: (pageUrl: URL) => string, fetchInProcess: (request: Request) => Promise<Response>) {
  try {
    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value === undefined || name.startsWith(':') || DROPPED_HEADERS.includes(name)) continue;
      headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    // HTTP/2 carries the site in :authority; the hop over HTTP/1.1 would have made it the Host.
    const authority = request.headers[':authority'];
    if (!headers.has('host') && typeof authority === 'string') headers.set('host', authority);
    const response = await fetchInProcess(new Request(apiUrl(new URL(request.url)), { headers }));
    return { statusCode: response.status, headers: Object.fromEntries(response.headers), rawBody: Buffer.from(await response.arrayBuffer()) };
  } catch {
    // A header value fetch's Headers refuses, a failed answer: left to mockttp, a throw would reach the page as the error's own text.
    return { statusCode: 502, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, rawBody: Buffer.from(JSON.stringify(errorBody('bridge_failed', 'The gateway could not answer this request'))) };
  }
}

/**
 * The proxy's bridge rules: every request and WebSocket to `/__aiplugs/…` on any site is streamed,
 * as plain HTTP on loopback, to the API port, its path rewritten to carry the proxy's secret and
 * the page's scheme, its `Host` kept as the site's (the origin the page's capability must match).
 * Nothing is buffered here: the API decides on the head and reads a capped body. The site's
 * cookies and credentials are dropped from HTTP requests; they are none of the gateway's business.
 * (mockttp's WebSocket passthrough cannot drop headers: a page socket's upgrade request reaches
 * the API with them, which reads no cookie and logs no header.)
 *
 * @example
 *   await addBridgeRules(server, { apiPort, secret });
 */
export async function addBridgeRules(server: Mockttp, options: BridgeRulesOptions): Promise<void> {
  const targetHost = `${LOOPBACK}:${options.apiPort}`;
  const { fetchInProcess } = options;
  for (const scheme of ['http', 'https'] as const) {
    const [pagePrefix, apiPrefix] = forwardPath(scheme, options.secret);
    // The files a page blocks on while it parses skip the hop: under the burst of requests a page
    // makes as it loads, each of the hop's steps (connect, write, parse, answer, parse again)
    // waited its turn in a busy event loop, and a 300-byte plugin script took 5–170 ms.
    if (fetchInProcess) {
      await server
        .forGet()
        .withUrlMatching(bridgeFileUrlPattern(scheme))
        .asPriority(2)
        .always()
        .thenCallback((request) => answerInProcess(request, (url) => `http://${targetHost}${url.pathname.replace(pagePrefix, apiPrefix)}${url.search}`, fetchInProcess));
    }
    await server
      .forAnyRequest()
      .withUrlMatching(bridgeUrlPattern(scheme))
      .always()
      .thenPassThrough({
        transformRequest: {
          setProtocol: 'http',
          replaceHost: { targetHost, updateHostHeader: false },
          matchReplacePath: [[pagePrefix, apiPrefix]],
          updateHeaders: Object.fromEntries(DROPPED_HEADERS.map((name) => [name, undefined])),
        },
      });
    await server
      .forAnyWebSocket()
      .matching((request) => isPageWebSocketUrl(request.url, scheme))
      .asPriority(2) // above the catch-all WebSocket passthrough, whatever the order rules are added in
      .always()
      .thenPassThrough({
        // What the API takes from a page; its answers (results, chunks) may be larger.
        maxClientMessageBytes: MAX_FRAME_BYTES,
        // A page's many sockets (128 a site, 512 in all) each just under that held ~128 MiB per site.
        maxTotalMessageBytes: options.maxTotalMessageBytes,
        transformRequest: {
          setProtocol: 'ws',
          replaceHost: { targetHost, updateHostHeader: false },
          matchReplacePath: [[pagePrefix, apiPrefix]],
        },
      });
  }
}
