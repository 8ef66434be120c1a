import type { Transform } from 'node:stream';
import { capabilityBase } from '../bridge/bridge-paths.js';
import { randomFromPool } from '../bridge/random-pool.js';
import type { CapabilityIssuer } from '../bridge/page-capability.js';
import type { CspMode } from '../config/config-schema.js';
import { isSecureContextUrl } from '../net/secure-context-url.js';
import { frameMatches } from '../plugins/frame-matches.js';
import type { PluginMatch } from '../plugins/plugin-registry.js';
import type { WebAiPageConfig } from '../runtime/page/runtime-config.js';
import { sandboxesIntoOpaqueOrigin, type CspContext } from './csp-policy.js';
import { extractContentType } from './content-type.js';
import { headerValue, isInjectableResponse, typeFromBody } from './document-request.js';
import { isEncodingLabel } from './encoding-labels.js';
import { HeadRewriter, type PassThroughReason } from './head-rewriter.js';
import { createHeldBytes } from './held-bytes.js';
import { isWideCharset } from './html-injection.js';
import { createDocumentTemplates, type DocumentTemplates } from './document-templates.js';
import type { MetaCspRewrite } from './meta-csp.js';
import { CACHE_HEADERS } from './response-headers.js';

type Headers = Record<string, string | string[] | undefined>;

export interface DocumentResponse {
  url: string;
  statusCode: number;
  headers: Headers;
  /** A frame's document: it gets only the groups that ask for frames (`all_frames`). */
  frame?: boolean;
}

export interface DocumentPlan {
  statusCode: number;
  /** Response headers for the rewritten document (none about the site's bytes: no Content-Length, ranges or digests). */
  headers: Headers;
  /**
   * A fresh transform over the DECODED body: injects into the head, streams the rest. Its bytes can
   * still show that the document cannot take the markup (a UTF-16 BOM, an XHTML shape with no safe
   * place for it): it then passes the document through untouched and tells `onPassThrough` why.
   */
  createTransform: (onPassThrough?: (reason: PassThroughReason) => void) => Transform;
  plugins: string[];
}

export interface DocumentPlannerOptions {
  activePlugins: (url: string) => PluginMatch[];
  cspMode: CspMode;
  version: string;
  apiPort: () => number;
  /** Mints each document's bridge capability (its origin, its plugins, its load). */
  capabilities: CapabilityIssuer;
  /** How much of a document is held back to find its head; the rest always streams. */
  maxHeadBytes: number;
  /** How much all documents together may hold back (held-bytes.ts). Default: 32 documents' worth of maxHeadBytes. */
  maxHeldBytes?: number;
  /** Whether injected documents get the Web AI grant (`webai.enabled`), and how their runtime uses it. Default: no grant. */
  webAi?: () => WebAiPageConfig | null;
  /** Which plugins the gateway can serve as configured (see inference/plugin-availability.ts). Default: all. */
  servable?: (match: PluginMatch) => boolean;
}

const CSP_HEADERS = ['content-security-policy', 'content-security-policy-report-only'];
/** A budget: 32 documents each holding all they may (max_head_bytes), which no ordinary browsing comes near. */
const HELD_DOCUMENTS = 32;
/** Headers about the site's bytes, untrue of the rewritten body: its length, ranges of it, digests of it. */
const BODY_HEADERS = ['content-length', 'accept-ranges', 'content-md5', 'digest', 'content-digest', 'repr-digest'];
const STRIPPED_HEADERS = [...CSP_HEADERS, 'x-frame-options'];

/**
 * Why a document its plugins match cannot take them, from its head alone: a kept policy that
 * sandboxes it into an opaque origin (the bridge would refuse its every load), or a UTF-16/32
 * charset. Null when it can. Asked by the planner, and again by the activity view for a document
 * that got nothing, so the two always agree.
 */
export function unfitDocument(headers: Headers, cspMode: CspMode): 'sandboxed' | 'unsupported-charset' | null {
  if (cspMode === 'nonce' && sandboxesIntoOpaqueOrigin(headerValue(headers, 'content-security-policy'))) return 'sandboxed';
  return isWideCharset(extractContentType(headers)?.charset) ? 'unsupported-charset' : null;
}

/**
 * Whether a document gets Web AI (the APIs, and the grant its calls need): a top-level page that
 * is a secure context, as the specs expose the APIs. Not a frame: the specs gate each API by a
 * permissions policy whose default allowlist is `'self'`, and a frame's request does not show who
 * embeds it (`Sec-Fetch-Site` names whoever navigated it, which an ad frame that reloads itself is
 * itself), so an ad frame would run the user's model and spend its embedder's limits. A frame of
 * the page's own origin can use its parent's (`parent.Summarizer`).
 */
const webAiDocument = (response: DocumentResponse, url: URL) => !response.frame && isSecureContextUrl(url);

/** What becomes of a `<meta http-equiv=Content-Security-Policy>` in the head, per mode. */
function metaCspRewrite(mode: CspMode, context: CspContext, templates: DocumentTemplates): MetaCspRewrite {
  return mode === 'strip' ? () => null : (policy) => templates.cspHeader(policy, context);
}

function rewriteHeaders(headers: Headers, mode: CspMode, context: CspContext, templates: DocumentTemplates): Headers {
  const out: Headers = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (CACHE_HEADERS.includes(lower) || BODY_HEADERS.includes(lower)) continue;
    if (mode === 'strip' && STRIPPED_HEADERS.includes(lower)) continue;
    if (mode === 'nonce' && CSP_HEADERS.includes(lower) && value !== undefined) {
      out[name] = Array.isArray(value) ? value.map((policy) => templates.cspHeader(policy, context)) : templates.cspHeader(value, context);
      continue;
    }
    out[name] = value;
  }
  out['cache-control'] = 'no-store';
  return out;
}

/**
 * Decides, from a document's status and headers alone, whether and how to rewrite it — before
 * any of its body has arrived, so that a body we leave alone is never buffered.
 *
 * @example
 *   const plan = createDocumentPlanner({ activePlugins, cspMode: 'nonce', version, apiPort: () => 5000, maxHeadBytes: 1 << 20 });
 *   const decision = plan({ url, statusCode: 200, headers }); // null → pass through untouched
 */
export function createDocumentPlanner(options: DocumentPlannerOptions): (response: DocumentResponse) => DocumentPlan | null {
  const templates = createDocumentTemplates();
  const heldBytes = createHeldBytes(options.maxHeldBytes ?? HELD_DOCUMENTS * options.maxHeadBytes);
  return (response) => {
    if (!isInjectableResponse(response.statusCode, response.headers)) return null;
    if (unfitDocument(response.headers, options.cspMode)) return null;
    const matches = response.frame ? frameMatches(options.activePlugins(response.url)) : options.activePlugins(response.url);
    if (matches.length === 0) return null;
    const url = new URL(response.url);
    const origin = url.origin;
    const context: CspContext = { nonce: randomFromPool(16).toString('base64'), origin };
    const plugins = matches.map(({ plugin }) => plugin.id);
    const webAi = webAiDocument(response, url) ? (options.webAi?.() ?? null) : null;
    const contentType = extractContentType(response.headers);
    const xml = contentType?.essence === 'application/xhtml+xml';
    // A charset the browser honours outranks any <meta charset>: the head need not wait for one.
    const transportCharset = isEncodingLabel(contentType?.charset);
    const capability = options.capabilities.mint({ origin, plugins, session: options.capabilities.newSession(), webai: webAi !== null });
    const { markup, headEnd } = templates.markup(matches, {
      webAi,
      version: options.version,
      apiPort: options.apiPort(),
      bridgeBase: capabilityBase(capability),
      origin,
      nonce: options.cspMode === 'nonce' ? context.nonce : undefined,
      unavailable: options.servable ? matches.filter((match) => !options.servable?.(match)).map(({ plugin }) => plugin.id) : undefined,
      xml,
      // Not in XHTML, where the text would sit in a CDATA section a line down (a hashbang there is
      // a syntax error); in HTML documents, frames included, `document_start` files come inline.
      inlineStart: !xml,
    });
    return {
      statusCode: response.statusCode,
      headers: rewriteHeaders(response.headers, options.cspMode, context, templates),
      plugins,
      createTransform: (onPassThrough) =>
        new HeadRewriter({
          maxHeadBytes: options.maxHeadBytes,
          markup,
          headEnd,
          rewriteMetaCsp: metaCspRewrite(options.cspMode, context, templates),
          transportCharset,
          xml,
          sniffHtml: typeFromBody(response.headers),
          heldBytes,
          ...(onPassThrough ? { onPassThrough } : {}),
        }),
    };
  };
}
