/**
 * What the browser shows when the proxy cannot get a page from the site: a plain page that names
 * the host and the reason in words, instead of mockttp's bare "Error: …" text. Certificate
 * problems are never bypassed: the page says so and points at the setting meant for test hosts.
 */

export interface UpstreamFailure {
  status: 403 | 502 | 504;
  title: string;
  reason: string;
  /** Certificate errors are the ones a user must not click through. */
  kind: 'tls' | 'dns' | 'refused' | 'timeout' | 'reset' | 'invalid' | 'local-network' | 'other';
}

const TLS_REASONS: Record<string, string> = {
  CERT_HAS_EXPIRED: 'its certificate has expired',
  CERT_NOT_YET_VALID: 'its certificate is not valid yet',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'its certificate chain ends in an untrusted self-signed root',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its certificate is not signed by a trusted authority',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its certificate is not signed by a trusted authority',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate is for a different host name',
  CERT_REVOKED: 'its certificate has been revoked',
  ERR_SSL_UNSUPPORTED_PROTOCOL: 'it only offers an obsolete TLS version',
  ERR_SSL_WRONG_VERSION_NUMBER: 'it did not answer with TLS',
};

function errorCode(error: unknown): string {
  if (error && typeof error === 'object') {
    const { code, errors } = error as { code?: unknown; errors?: unknown };
    if (typeof code === 'string') return code;
    if (Array.isArray(errors) && errors.length > 0) return errorCode(errors[0]);
  }
  return '';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Classifies a failed upstream connection into something a person can act on. */
export function describeUpstreamFailure(error: unknown, host: string): UpstreamFailure {
  const code = errorCode(error);
  const message = errorMessage(error);
  const tlsReason = TLS_REASONS[code] ?? (/certificate|SSL routines|tlsv1 alert|wrong version number/i.test(message) ? `its TLS connection failed (${message})` : null);
  if (tlsReason) {
    return { status: 502, kind: 'tls', title: `Blocked: ${host} failed certificate checks`, reason: `AiPlugs refused to connect to ${host} because ${tlsReason} (${code || 'TLS error'}). Your connection was not sent. If this is your own local test server, add its host to proxy.trusted_test_hosts in the AiPlugs config.` };
  }
  if (code === 'E_AIPLUGS_LOCAL_NETWORK') return { status: 403, kind: 'local-network', title: `Blocked: a page may not reach ${host}`, reason: `AiPlugs refused this request because ${message}. Chromium refuses it too without a proxy. Nothing was sent to ${host}.` };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { status: 502, kind: 'dns', title: `${host} could not be found`, reason: `The name ${host} did not resolve (${code}). Check the address or your network.` };
  if (code === 'ECONNREFUSED') return { status: 502, kind: 'refused', title: `${host} refused the connection`, reason: `Nothing accepted the connection to ${host} (ECONNREFUSED).` };
  if (code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT' || /timed? ?out/i.test(message)) return { status: 504, kind: 'timeout', title: `${host} took too long to answer`, reason: `The connection to ${host} timed out (${code || 'timeout'}).` };
  if (code === 'ECONNRESET' || code === 'EPIPE') return { status: 502, kind: 'reset', title: `${host} closed the connection`, reason: `The connection to ${host} was reset before a full answer arrived (${code}).` };
  if (code === 'ERR_RESPONSE_HEADERS_MULTIPLE_LOCATION') return { status: 502, kind: 'invalid', title: `${host} sent a broken redirect`, reason: `${host} named two different addresses to go to, so there is no telling which one it meant; browsers refuse such a redirect too (${code}).` };
  return { status: 502, kind: 'other', title: `Could not load ${host}`, reason: `The connection to ${host} failed: ${message}${code ? ` (${code})` : ''}.` };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/** A small self-contained HTML page (ASCII, no scripts, no external resources). */
export function renderUpstreamErrorPage(failure: UpstreamFailure): string {
  const title = escapeHtml(failure.title);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>${title}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1f2937}h1{font-size:1.4rem}small{color:#6b7280}</style>
</head><body><h1>${title}</h1><p>${escapeHtml(failure.reason)}</p><p><small>Reported by the AiPlugs gateway on this computer.</small></p></body></html>`.replace(/[^\x00-\x7f]/g, (char) => `&#${char.codePointAt(0)};`);
}

/** Hosts Chromium calls in the background; offline their failures are expected noise. */
const BACKGROUND_HOSTS = /(^|\.)(google\.com|googleapis\.com|gstatic\.com|gvt1\.com|gvt2\.com|googleusercontent\.com|chrome\.com|mozilla\.(com|net|org)|firefox\.com)$/i;

/**
 * Decides how loudly to log an upstream failure: background browser chatter goes to debug, and
 * each host is reported at most once per `windowMs`, so an offline machine does not flood the log.
 */
export function createUpstreamErrorLog(options: { windowMs?: number; now?: () => number } = {}) {
  const windowMs = options.windowMs ?? 60_000;
  const now = options.now ?? Date.now;
  const lastLogged = new Map<string, number>();
  return (host: string): 'warn' | 'debug' | 'silent' => {
    if (BACKGROUND_HOSTS.test(host)) return 'debug';
    const previous = lastLogged.get(host);
    if (previous !== undefined && now() - previous < windowMs) return 'silent';
    if (lastLogged.size > 1000) lastLogged.clear();
    lastLogged.set(host, now());
    return 'warn';
  };
}
