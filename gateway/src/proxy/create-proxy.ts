import { getLocal, type CompletedRequest, type Mockttp, type requestSteps } from 'mockttp';
import type { Hono } from 'hono';
import type { ApiEnv } from '../api/api-env.js';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import type { CspMode } from '../config/config-schema.js';
import type { Logger } from '../events/logger.js';
import { LOOPBACK } from '../net/pick-port.js';
import type { PluginMatch } from '../plugins/plugin-registry.js';
import { isDocumentRequest, isInjectableResponse } from './document-request.js';
import { findInjectionOffset, isAsciiIncompatible, spliceMarkup } from './html-injection.js';
import { buildInjectionMarkup } from './injection-markup.js';
import { createBridgeHandler, isBridgeRequest } from './page-bridge.js';
import { CONDITIONAL_REQUEST_HEADERS, injectedDocumentHeaders, withoutHeaders } from './response-headers.js';

type CallbackResponseResult = requestSteps.CallbackResponseResult;
type PassThroughResponse = requestSteps.PassThroughResponse;

export interface ProxyOptions {
  port: number;
  ca: CertificateAuthority;
  /** The plugins to inject into a URL, after the user's switches (see settings/active-plugins). */
  activePlugins: (url: string) => PluginMatch[];
  api: Hono<ApiEnv>;
  logger: Logger;
  version: string;
  apiPort: () => number;
  cspMode: CspMode;
  maxInjectBytes: number;
  /** Upstream hosts whose certificate errors are ignored: local test sites only, never a default. */
  trustedTestHosts: string[];
}

export interface GatewayProxy {
  port: number;
  url: string;
  stop(): Promise<void>;
}

/**
 * The interception proxy: a mockttp server on 127.0.0.1 whose rules, in priority order, are
 * 1. the same-origin bridge (`/__aiplugs/*` on any host → the API, in-process),
 * 2. documents (navigations that may get plugins injected),
 * 3. everything else, passed through untouched (fetch/XHR, images, scripts, WebSockets).
 */
export async function createProxy(options: ProxyOptions): Promise<GatewayProxy> {
  const { logger } = options;
  const server: Mockttp = getLocal({ https: { key: options.ca.key, cert: options.ca.cert }, listenHost: LOOPBACK, recordTraffic: false });
  const upstream = { ignoreHostHttpsErrors: options.trustedTestHosts };

  const injectDocument = (response: PassThroughResponse, request: CompletedRequest): Promise<CallbackResponseResult | void> | void => {
    if (!isInjectableResponse(response.statusCode, response.headers)) return;
    const matches = options.activePlugins(request.url);
    if (matches.length === 0) return;
    return (async () => {
      const body = await response.body.getDecodedBuffer();
      if (!body || body.byteLength > options.maxInjectBytes) return;
      if (isAsciiIncompatible(body.subarray(0, 4), response.headers['content-type'] as string | undefined)) return;
      const offset = findInjectionOffset(body) ?? 0;
      const markup = buildInjectionMarkup(matches, { version: options.version, apiPort: options.apiPort() });
      const injected = spliceMarkup(body, offset, markup);
      logger.debug(`Injected ${matches.map((m) => m.plugin.id).join(', ')} into ${request.url}`);
      return {
        statusCode: response.statusCode,
        headers: injectedDocumentHeaders(response.headers, { stripCsp: options.cspMode === 'strip', contentLength: injected.byteLength }),
        body: injected,
      };
    })();
  };

  await server.start(options.port);
  await server.forAnyRequest().matching((request) => isBridgeRequest(request.url)).always().thenCallback(createBridgeHandler(options.api));
  await server
    .forAnyRequest()
    .matching((request) => isDocumentRequest(request.method, request.headers))
    .always()
    .thenPassThrough({
      ...upstream,
      // A 304 for a page we inject would let the browser reuse a copy without the injection.
      beforeRequest: (request) =>
        options.activePlugins(request.url).length > 0 ? { headers: withoutHeaders(request.headers, CONDITIONAL_REQUEST_HEADERS) as Record<string, string> } : undefined,
      beforeResponse: injectDocument,
    });
  await server.forUnmatchedRequest().always().thenPassThrough(upstream);
  await server.forAnyWebSocket().always().thenPassThrough(upstream);
  return {
    port: server.port,
    url: `http://${LOOPBACK}:${server.port}`,
    stop: () => server.stop(),
  };
}
