import type { WebAiPageConfig } from '../runtime/page/runtime-config.js';
import type { InitiatedRequest, Mockttp, requestSteps } from 'mockttp';
// The server alone, not mockttp's index: that also loads its admin server and remote client
// (GraphQL, Express, subscriptions), which the gateway never uses, at start-up and in memory.
import { MockttpServer } from 'mockttp/dist/server/mockttp-server';
import { Always } from 'mockttp/dist/rules/completion-checkers';
import { PassThroughStep } from 'mockttp/dist/rules/requests/request-step-definitions';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import { createLazyLeafMinter, createLeafMinter } from '../ca/leaf-certificate.js';
import { ensureNoSniCertificate, NO_SNI_NAME } from '../ca/no-sni-certificate.js';
import type { CspMode } from '../config/config-schema.js';
import type { Logger } from '../events/logger.js';
import { LOOPBACK } from '../net/pick-port.js';
import type { PluginMatch } from '../plugins/plugin-registry.js';
import { frameMatches } from '../plugins/frame-matches.js';
import type { CapabilityIssuer } from '../bridge/page-capability.js';
import { canDecode, createDecoders, decodableAcceptEncoding } from './body-codec.js';
import { createDocumentPlanner, type DocumentPlan, type DocumentResponse } from './document-plan.js';
import { headerValue, isDocumentRequest, isFrameNavigation, isInjectableResponse, mayPrefetchDocument } from './document-request.js';
import { injectionDecision, loggableUrl, type DecisionReporter } from './injection-decision.js';
import { addBridgeRules } from './bridge-rules.js';
import { HeadMatcher } from './head-matcher.js';
import { createLocalNetworkGuard, type LocalNetworkGuardOptions } from './local-network-access.js';
import { addMisdirectedRules } from './misdirected-requests.js';
import { isPluginFreeLoad, PLUGIN_FREE_HEADER } from './plugin-free-load.js';
import { createLeafCertificateCache, DEFAULT_LEAF_CERTIFICATE_LIMITS, type LeafCertificateLimits } from './leaf-certificate-cache.js';
import { CACHE_HEADERS, CONDITIONAL_REQUEST_HEADERS, NAVIGATION_VARY, withoutHeaders, withVary } from './response-headers.js';
import { createUpstreamErrorLog, describeUpstreamFailure, renderUpstreamErrorPage } from './upstream-error-page.js';

type PassThroughResponseHead = requestSteps.PassThroughResponseHead;
type StreamResponseResult = requestSteps.StreamResponseResult;

/** Decides from a response's head whether and how to rewrite a document (see document-plan). */
export type DocumentPlanner = (response: DocumentResponse) => DocumentPlan | null;

export interface ProxyOptions {
  port: number;
  ca: CertificateAuthority;
  /** The plugins to inject into a URL, after the user's switches (see settings/active-plugins). */
  activePlugins: (url: string) => PluginMatch[];
  /** Mints the capability each injected document gets for its bridge calls. */
  capabilities: CapabilityIssuer;
  /** The per-process secret the bridge rules put into forwarded paths (the API checks it). */
  bridgeSecret: string;
  /** The API's bridge entry, for the files pages load while they parse (see bridge-rules.ts); without it, every bridged request goes over loopback. */
  bridgeFetch?: ((request: Request) => Promise<Response>) | undefined;
  logger: Logger;
  version: string;
  apiPort: () => number;
  cspMode: CspMode;
  /** How much of a document is held back to find its head (`proxy.max_head_bytes`); default 1 MiB. */
  maxHeadBytes?: number;
  /** Upstream hosts whose certificate errors are ignored: local test sites only, never a default. */
  trustedTestHosts: string[];
  /** Extra CA certificates (PEM files) trusted for upstream servers, e.g. a company CA. */
  upstreamCaFiles?: string[];
  /** Replaces the document planner built from the options above (tests, alternative rewrites). */
  planDocument?: DocumentPlanner;
  /** Bounds on leaf certificates (`proxy.leaf_*`); defaults in leaf-certificate-cache. */
  leafCertificates?: LeafCertificateLimits;
  /** How much of an upload mockttp keeps as its replay copy before dropping it (`proxy.upload_replay_bytes`); default 64 KiB. */
  uploadReplayBytes?: number;
  /** Largest WebSocket message relayed between a page and its site (`proxy.max_websocket_message_bytes`); default 100 MiB. */
  maxWebSocketMessageBytes?: number;
  /**
   * What sites' relayed sockets may hold in messages together (`proxy.max_websocket_total_bytes`):
   * the sides holding over 64 KiB share it equally, each at most the message limit; plugin sockets
   * through the bridge get a budget of the same size of their own. Default 64 MiB.
   */
  maxWebSocketTotalBytes?: number;
  /** Whether injected documents get the Web AI grant (`webai.enabled`), and how their runtime uses it. */
  webAi?: () => WebAiPageConfig | null;
  /** Told of every document decision (injected, or why not) for the activity view. */
  decisions?: Omit<DecisionReporter, 'cspMode'>;
  /** Which injected plugins the gateway can serve as configured; pages hide the others' UI. */
  servable?: (match: PluginMatch) => boolean;
  /** Where the certificate for clients without SNI is kept between starts (ca/no-sni-certificate); without it, one is minted per start. */
  noSniCertificatePath?: string;
  /** How the proxy keeps Local Network Access (local-network-access.ts); tests class addresses. */
  localNetwork?: LocalNetworkGuardOptions;
}

export interface GatewayProxy {
  port: number;
  url: string;
  /** Where the proxy really listens (`net.Server#address()`), for the loopback check. */
  address(): unknown;
  /** Sets up leaf minting ahead of the first HTTPS site (call it once ready; failures are logged, and retried on use). */
  warmUp(): void;
  stop(): Promise<void>;
}

const DEFAULT_MAX_HEAD_BYTES = 1024 * 1024;
/** The `ws` default, which mockttp's own side of a relayed socket always had. */
const DEFAULT_MAX_WEBSOCKET_MESSAGE_BYTES = 100 * 1024 * 1024;
/** A hostile site's sockets make the proxy hold about twice this (inflated chunks, then their copy). */
const DEFAULT_MAX_WEBSOCKET_TOTAL_BYTES = 64 * 1024 * 1024;
/**
 * Nothing of the gateway's reads an upload's replay copy (the bridge streams to the API port, the
 * document rule looks at heads), but an upload keeps it, twice over once read whole, until its
 * answer comes: a page can keep a few hundred uploads waiting on sites of its own.
 */
const DEFAULT_UPLOAD_REPLAY_BYTES = 64 * 1024;

export { loggableUrl };

/** The body framing of a rewritten document is ours: decoded (identity) and sent chunked. */
const UPSTREAM_FRAMING_HEADERS = ['content-encoding', 'content-length', 'transfer-encoding'];

/**
 * Rewrites a document as it streams: the plan's transform sees the decoded body, which is served
 * without content-encoding. Bodies in an encoding we cannot decode pass through untouched.
 * Relies on the `transformResponseStream` hook of our mockttp patch (patches/README.md).
 */
export function streamDocumentResponse(planDocument: DocumentPlanner, activePlugins: ProxyOptions['activePlugins'], logger: Logger, reporter?: DecisionReporter) {
  const keepApart = keepFetchedDocumentsApart(activePlugins);
  return (response: PassThroughResponseHead, request: InitiatedRequest): StreamResponseResult | undefined => {
    const frame = isFrameNavigation(request.headers);
    if (frame && forTopLevelOnly(activePlugins(request.url))) {
      // An ad or an embed gets no plugin UI or calls, and a later visit of its URL still gets them.
      reporter?.onDecision(injectionDecision(request.url, response, null, isInjectableResponse(response.statusCode, response.headers) ? 'top-frame-only' : null, reporter));
      return keepApart(response, request);
    }
    const encoding = headerValue(response.headers, 'content-encoding');
    const decodable = canDecode(encoding);
    const plan = decodable ? planDocument({ url: request.url, statusCode: response.statusCode, headers: response.headers, frame }) : null;
    reporter?.onDecision(injectionDecision(request.url, response, plan ? plan.plugins : null, decodable ? null : 'undecodable', reporter));
    if (!decodable) logger.debug(`Not rewriting ${loggableUrl(request.url)}: cannot decode content-encoding "${encoding}"`);
    if (!plan) return undefined;
    logger.debug(`Injecting ${plan.plugins.join(', ')} into ${loggableUrl(request.url)}`);
    return {
      statusCode: plan.statusCode,
      headers: withoutHeaders(plan.headers, UPSTREAM_FRAMING_HEADERS),
      // A body that shows it cannot take the markup after all passes through: reported once more, with why.
      transform: () => [...createDecoders(encoding), plan.createTransform((reason) => reporter?.onDecision(injectionDecision(request.url, response, null, reason, reporter)))],
    };
  };
}

/** Plugins match, and none of them asks for frames (`all_frames`): a frame of this URL gets nothing. */
const forTopLevelOnly = (matches: PluginMatch[]) => matches.length > 0 && frameMatches(matches).length === 0;

/** The plugins a navigation to `url` gets: a frame only the groups that ask for frames. */
const navigationPlugins = (activePlugins: ProxyOptions['activePlugins'], url: string, headers: InitiatedRequest['headers']) =>
  isFrameNavigation(headers) ? frameMatches(activePlugins(url)) : activePlugins(url);

/**
 * A document of a plugin-free load (plugin-free-load.ts) goes to the page as the site sent it, but
 * never into the browser's cache: the next load of the page would come from there, past the proxy,
 * without its plugins.
 */
function servePluginFreeDocument(reporter?: DecisionReporter) {
  return (response: PassThroughResponseHead, request: InitiatedRequest): StreamResponseResult | undefined => {
    if (!isDocumentRequest(request.method, request.headers)) return undefined;
    reporter?.onDecision(injectionDecision(request.url, response, null, 'plugin-free', reporter));
    return { headers: { ...withoutHeaders(response.headers, CACHE_HEADERS), 'cache-control': 'no-store' } };
  };
}

/**
 * A page fetched before it is visited (a script's fetch, `<link rel=prefetch>`) goes to the page
 * untouched, but the browser may keep it and serve a later navigation to the same URL from that
 * copy, past the proxy, without plugins (Chromium reuses a prefetched copy for five minutes
 * whatever its freshness). Where plugins would be injected, the copy is kept apart from navigations.
 */
function keepFetchedDocumentsApart(activePlugins: ProxyOptions['activePlugins']) {
  return (response: PassThroughResponseHead, request: InitiatedRequest): StreamResponseResult | undefined => {
    // A 304 updates the stored copy's headers: it carries the same Vary, or the site's own would replace ours.
    if (!(response.statusCode === 304 || isInjectableResponse(response.statusCode, response.headers)) || activePlugins(request.url).length === 0) return undefined;
    return { headers: withVary(response.headers, NAVIGATION_VARY) };
  };
}

/**
 * Answers requests the proxy could not complete with a page that says why, and logs each failing
 * host once a minute at most (Chromium's offline calls to Google hosts only at debug level). A
 * bridged call (`bridgeHost`, the API the bridge forwards to) that ends early is a page that
 * aborted it or went away, never a site's failure: debug level (helper-77: an aborted
 * `AiPlugs.infer` logged a warning that 127.0.0.1 had reset the connection).
 */
export function createErrorResponder(logger: Logger, bridgeHost?: () => string) {
  const levelFor = createUpstreamErrorLog();
  return (error: unknown, request: { url: string }) => {
    let host = 'the site';
    try {
      host = new URL(request.url).host;
    } catch {
      // keep the generic name
    }
    const failure = describeUpstreamFailure(error, host);
    const level = host === bridgeHost?.() ? 'debug' : levelFor(host);
    if (level !== 'silent') logger[level](`${failure.title}: ${failure.reason}`);
    return {
      statusCode: failure.status,
      headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-aiplugs-error': failure.kind },
      body: renderUpstreamErrorPage(failure),
    };
  };
}

/**
 * The interception proxy: a mockttp server on 127.0.0.1 whose rules, in priority order, are
 * 0. a request whose URL names another host than the IP address it goes to: 421, nothing else
 *    sees it (misdirected-requests.ts),
 * 1. the same-origin bridge (`/__aiplugs/*` on any host, streamed to the API port, see bridge-rules),
 * 2. plugin-free loads (the extension's mark: passed through, never cached),
 * 3. documents (GET navigations that may get plugins injected, rewritten as a stream),
 * 4. GETs that may fetch a page before it is visited (fetch/XHR, prefetch): passed through, kept
 *    apart from navigations in the browser's cache where plugins would be injected,
 * 5. everything else, passed through untouched (images, scripts, uploads, WebSockets).
 *
 * No body is held whole: rule matching looks at the method, URL and headers only (a callback
 * matcher is only reached by GETs, whose bodies are empty), documents stream through the plan's
 * transform, and all other bodies are piped (our mockttp patch stops mockttp keeping a copy of
 * every response it forwards; `maxBodySize` makes it drop its copy of a large upload).
 */
export async function createProxy(options: ProxyOptions): Promise<GatewayProxy> {
  const { logger } = options;
  const leaves = createLazyLeafMinter(options.ca);
  const leafCertificates = createLeafCertificateCache({ ...(options.leafCertificates ?? DEFAULT_LEAF_CERTIFICATE_LIMITS), mint: leaves.mint, logger });
  // A client that sends no SNI (it asked for an IP address) gets a certificate for a reserved name
  // that matches nothing, rather than one for a name it did not ask for. It never validates, so
  // one serves however long the gateway runs. Minted with a key of its own, as it is stored: the
  // key the site certificates share stays in memory.
  const noSni = options.noSniCertificatePath
    ? await ensureNoSniCertificate({ path: options.noSniCertificatePath, caCert: options.ca.cert, mint: async (host) => (await createLeafMinter(options.ca))(host), logger })
    : await leaves.mint(NO_SNI_NAME);
  const server: Mockttp = new MockttpServer({
    https: {
      key: options.ca.key,
      cert: options.ca.cert,
      // Every certificate is ours (our patch): SNI names from a bounded cache with rate-limited
      // minting, and the one above. mockttp then loads no CA of its own, whose constructor
      // generated an RSA key pair on every start.
      tlsServerOptions: { SNICallback: leafCertificates.SNICallback, key: noSni.key, cert: noSni.cert },
    },
    listenHost: LOOPBACK,
    // Browsers speak HTTP/2 to the proxy and the proxy to HTTP/2 sites (ALPN, HTTP/1.1 fallback).
    http2: true,
    recordTraffic: false,
    // Bounds the replay copy mockttp starts of every request body, dropped once it passes this size.
    maxBodySize: options.uploadReplayBytes ?? DEFAULT_UPLOAD_REPLAY_BYTES,
    errorResponder: createErrorResponder(logger, () => `${LOOPBACK}:${options.apiPort()}`),
  });
  const upstream = {
    ignoreHostHttpsErrors: options.trustedTestHosts,
    additionalTrustedCAs: (options.upstreamCaFiles ?? []).map((certPath) => ({ certPath })),
    checkUpstreamAddress: createLocalNetworkGuard(options.localNetwork),
  };
  const planDocument =
    options.planDocument ??
    createDocumentPlanner({
      activePlugins: options.activePlugins,
      cspMode: options.cspMode,
      version: options.version,
      apiPort: options.apiPort,
      capabilities: options.capabilities,
      maxHeadBytes: options.maxHeadBytes ?? DEFAULT_MAX_HEAD_BYTES,
      ...(options.webAi ? { webAi: options.webAi } : {}),
      ...(options.servable ? { servable: options.servable } : {}),
    });

  await server.start(options.port);
  await addMisdirectedRules(server);
  const maxTotalMessageBytes = options.maxWebSocketTotalBytes ?? DEFAULT_MAX_WEBSOCKET_TOTAL_BYTES;
  await addBridgeRules(server, { apiPort: options.apiPort(), secret: options.bridgeSecret, fetchInProcess: options.bridgeFetch, maxTotalMessageBytes });
  const reporter = options.decisions ? { ...options.decisions, cspMode: options.cspMode } : undefined;
  // What carries the mark of a plugin-free load (plugin-free-load.ts: the extension marks the
  // GETs and POSTs of frames and documents) goes to the site as the browser asked for it, less the
  // mark. Rules are tried in order, so this one comes first; GETs and POST navigations only, as a
  // hook that sees the request waits for (up to `upload_replay_bytes` of) its body: a mark a page
  // set on its own upload goes on with it (the page told its own site).
  await server.addRequestRule({
    matchers: [new HeadMatcher('plugin-free loads', (request) => isPluginFreeLoad(request.headers) && (request.method === 'GET' || isDocumentRequest(request.method, request.headers)))],
    completionChecker: new Always(),
    steps: [
      new PassThroughStep({
        ...upstream,
        beforeRequest: (request) => ({ headers: withoutHeaders(request.headers, [PLUGIN_FREE_HEADER]) as Record<string, string> }),
        transformResponseStream: servePluginFreeDocument(reporter),
      }),
    ],
  });
  // What `.forGet().matching(…).always().thenPassThrough(…)` builds, with a matcher that reads no
  // body (see head-matcher.ts); isDocumentRequest takes GETs and POST navigations (a form's body is
  // small, and the hook below waits for at most `upload_replay_bytes` of one).
  await server.addRequestRule({
    matchers: [new HeadMatcher('document navigations', (request) => isDocumentRequest(request.method, request.headers))],
    completionChecker: new Always(),
    steps: [
      new PassThroughStep({
        ...upstream,
        beforeRequest: (request) => {
          if (navigationPlugins(options.activePlugins, request.url, request.headers).length === 0) return undefined;
          // A 304 for a page we inject would let the browser reuse a copy without the injection,
          // and a body we cannot decode (zstd on Node 20) could not be injected into.
          const acceptEncoding = headerValue(request.headers, 'accept-encoding');
          const headers = withoutHeaders(request.headers, [...CONDITIONAL_REQUEST_HEADERS, 'accept-encoding']);
          if (acceptEncoding !== undefined) headers['accept-encoding'] = decodableAcceptEncoding(acceptEncoding);
          return { headers: headers as Record<string, string> };
        },
        transformResponseStream: streamDocumentResponse(planDocument, options.activePlugins, logger, reporter),
      }),
    ],
  });
  await server.addRequestRule({
    matchers: [new HeadMatcher('fetches that may be pages', (request) => mayPrefetchDocument(request.method, request.headers))],
    completionChecker: new Always(),
    steps: [new PassThroughStep({ ...upstream, transformResponseStream: keepFetchedDocumentsApart(options.activePlugins) })],
  });
  await server.forUnmatchedRequest().always().thenPassThrough(upstream);
  await server
    .forAnyWebSocket()
    .always()
    .thenPassThrough({
      ...upstream,
      maxMessageBytes: options.maxWebSocketMessageBytes ?? DEFAULT_MAX_WEBSOCKET_MESSAGE_BYTES,
      maxTotalMessageBytes,
    });
  return {
    port: server.port,
    url: `http://${LOOPBACK}:${server.port}`,
    // mockttp has no accessor for its listening socket; `server` is its internal net.Server.
    address: () => (server as unknown as { server?: { address(): unknown } }).server?.address() ?? null,
    warmUp: () => void leaves.warmUp().catch((error: unknown) => logger.warn(`Leaf certificates cannot be minted yet: ${(error as Error).message}`)),
    stop: () => server.stop(),
  };
}
