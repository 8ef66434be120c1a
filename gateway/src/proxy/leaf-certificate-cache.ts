import { isIP } from 'node:net';
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import { LRUCache } from 'lru-cache';
import type { MintLeaf } from '../ca/leaf-certificate.js';
import type { Logger } from '../events/logger.js';
import { createTokenBucket } from '../net/token-bucket.js';

/** The bounds on leaf certificates (`proxy.leaf_cache_size`, `proxy.leaf_mints_per_second`, `proxy.leaf_mint_burst`). */
export interface LeafCertificateLimits {
  /** Certificates kept; the least recently used one goes first. */
  cacheSize: number;
  /** New certificates minted per second on average, for all clients together. */
  mintsPerSecond: number;
  /** New certificates that may be minted at once after a quiet period. */
  mintBurst: number;
}

export const DEFAULT_LEAF_CERTIFICATE_LIMITS: LeafCertificateLimits = { cacheSize: 1000, mintsPerSecond: 20, mintBurst: 200 };

export interface LeafCertificateCacheOptions extends LeafCertificateLimits {
  mint: MintLeaf;
  logger: Logger;
  /** Milliseconds, monotonic (tests pass their own clock). */
  now?: () => number;
}

type SniCallback = (servername: string, callback: (error: Error | null, context?: SecureContext) => void) => void;

export interface LeafCertificateCache {
  /** For `tls.createServer` (through mockttp's `https.tlsServerOptions`). */
  SNICallback: SniCallback;
  /** Certificates currently kept. */
  size(): number;
}

/** Re-mint a day before a leaf expires, so no client ever sees one expire mid-session. */
const RENEW_BEFORE_MS = 24 * 3_600_000;
/** At most one warning per minute about refused mints. */
const WARN_EVERY_MS = 60_000;
const DNS_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** A DNS name a certificate may be minted for: no IP literal (RFC 6066), no empty or oversized labels. */
export function isMintableHostName(name: string): boolean {
  if (name.length === 0 || name.length > 253 || isIP(name) !== 0) return false;
  return name.split('.').every((label) => DNS_LABEL.test(label));
}

/**
 * Serves the leaf certificate for each TLS handshake's SNI name from a bounded LRU, minting the
 * missing ones at a bounded rate. A host-name flood (a page fetching thousands of made-up names)
 * therefore costs at most `cacheSize` certificates of memory and `mintsPerSecond` signatures of CPU.
 *
 * "Per client" has no useful meaning here: every browser on this machine reaches the proxy from
 * 127.0.0.1, and each CONNECT tunnel carries exactly one handshake, so a per-peer or per-tunnel
 * limit would either be shared by everyone anyway or never bind. The limit is one token bucket
 * for the whole proxy, spent only on mints: names already cached (the sites you use) never wait,
 * and concurrent handshakes for the same new name share one mint. A refused handshake is closed
 * without a certificate; the browser shows a connection error for that host only.
 */
export function createLeafCertificateCache(options: LeafCertificateCacheOptions): LeafCertificateCache {
  const now = options.now ?? (() => performance.now());
  const cache = new LRUCache<string, SecureContext>({ max: options.cacheSize });
  const minting = new Map<string, Promise<SecureContext>>();
  const mints = createTokenBucket({ ratePerSecond: options.mintsPerSecond, burst: options.mintBurst, now });
  let warnedAt = -Infinity;
  let refusedSinceWarning = 0;

  const noteRefusal = (host: string) => {
    refusedSinceWarning += 1;
    if (now() - warnedAt < WARN_EVERY_MS) return;
    options.logger.warn(
      `New TLS certificates are rate limited (${options.mintsPerSecond}/s, burst ${options.mintBurst}: proxy.leaf_mints_per_second, proxy.leaf_mint_burst); ` +
        `refused ${refusedSinceWarning} handshake(s) for new host names, the latest ${host}. Sites already visited are not affected.`,
    );
    warnedAt = now();
    refusedSinceWarning = 0;
  };

  const mintContext = async (host: string): Promise<SecureContext> => {
    const leaf = await options.mint(host);
    const context = createSecureContext({ key: leaf.key, cert: leaf.cert });
    cache.set(host, context, { ttl: Math.max(1, leaf.notAfter.getTime() - Date.now() - RENEW_BEFORE_MS) });
    return context;
  };

  /** The context for a host, or null when the handshake must be refused. */
  const contextFor = (host: string): Promise<SecureContext> | null => {
    const cached = cache.get(host);
    if (cached) return Promise.resolve(cached);
    const pending = minting.get(host);
    if (pending) return pending;
    if (!mints.take()) {
      noteRefusal(host);
      return null;
    }
    const promise = mintContext(host).finally(() => minting.delete(host));
    minting.set(host, promise);
    return promise;
  };

  // Node calls the SNICallback as a method of the server-side TLSSocket (not documented, but
  // stable since Node 0.x). Destroying that socket refuses the handshake without an error event,
  // which mockttp would otherwise print with a stack trace for every refused handshake.
  function SNICallback(this: unknown, servername: string, callback: (error: Error | null, context?: SecureContext) => void): void {
    const refuse = (reason: string) => {
      if (this instanceof TLSSocket) this.destroy();
      else callback(new Error(reason));
    };
    const host = servername.toLowerCase();
    if (!isMintableHostName(host)) {
      options.logger.debug(`No certificate for the SNI name ${JSON.stringify(servername.slice(0, 100))}: not a DNS name`);
      refuse('not a DNS name');
      return;
    }
    const context = contextFor(host);
    if (!context) {
      refuse('certificate minting is rate limited');
      return;
    }
    context.then(
      (secureContext) => callback(null, secureContext),
      (error: unknown) => {
        options.logger.warn(`Could not mint a certificate for ${host}: ${(error as Error).message}`);
        refuse('certificate minting failed');
      },
    );
  }

  return { SNICallback, size: () => cache.size };
}
