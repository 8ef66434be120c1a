import { createInFlightPerKey } from '../api/in-flight-per-key.js';
import { siteOf } from '../net/site-of.js';

/** How many plugin sockets pages may hold open at once. */
export interface PageSocketLimits {
  /** One page load (one capability session). */
  perPage: number;
  /** All page loads of one site (net/site-of.ts: its subdomains, ports and schemes) together, so that one site cannot take the whole budget. */
  perSite: number;
  /** All pages of all sites together: what bounds the gateway's memory, since capabilities are stateless. */
  allPages: number;
}

export const DEFAULT_PAGE_SOCKET_LIMITS: PageSocketLimits = { perPage: 32, perSite: 128, allPages: 512 };

export type QuotaVerdict = { ok: true; release: () => void } | { ok: false; reason: string };

/**
 * Counts the plugin sockets pages hold: a page's `AiPlugs.connect()` opens one per call, each a
 * relayed pair in the proxy and a connection here, and a page (or a program holding its
 * capability) may call it any number of times. A socket takes its place before the handshake and
 * gives it back when its connection closes: call `release` exactly once.
 *
 * @example
 *   const quota = createPageSocketQuota();
 *   const verdict = quota.take(origin, session);
 *   if (verdict.ok) upgradeSocket.once('close', verdict.release);
 */
export function createPageSocketQuota(limits: PageSocketLimits = DEFAULT_PAGE_SOCKET_LIMITS) {
  const levels = [
    { count: createInFlightPerKey(limits.perPage), key: (origin: string, session: string) => `${origin}\n${session}`, full: `this page has ${limits.perPage} plugin sockets open` },
    { count: createInFlightPerKey(limits.perSite), key: (origin: string) => siteOf(origin), full: `this site has ${limits.perSite} plugin sockets open` },
    { count: createInFlightPerKey(limits.allPages), key: () => '', full: `pages have ${limits.allPages} plugin sockets open` },
  ];
  return {
    take(origin: string, session: string): QuotaVerdict {
      const taken: Array<() => void> = [];
      const release = () => taken.forEach((done) => done());
      for (const level of levels) {
        const done = level.count.enter(level.key(origin, session));
        if (!done) {
          release();
          return { ok: false, reason: level.full };
        }
        taken.push(done);
      }
      return { ok: true, release };
    },
  };
}
