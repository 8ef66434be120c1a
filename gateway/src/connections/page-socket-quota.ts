/** How many plugin sockets pages may hold open at once. */
export interface PageSocketLimits {
  /** One page load (one capability session). */
  perPage: number;
  /** All page loads of one origin together, so that one site cannot take the whole budget. */
  perOrigin: number;
  /** All pages of all sites together: what bounds the gateway's memory, since capabilities are stateless. */
  allPages: number;
}

export const DEFAULT_PAGE_SOCKET_LIMITS: PageSocketLimits = { perPage: 32, perOrigin: 128, allPages: 512 };

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
  const perPage = new Map<string, number>();
  const perOrigin = new Map<string, number>();
  let allPages = 0;
  const add = (counts: Map<string, number>, key: string, delta: number) => {
    const next = (counts.get(key) ?? 0) + delta;
    if (next === 0) counts.delete(key);
    else counts.set(key, next);
  };
  const adjust = (origin: string, session: string, delta: number) => {
    add(perPage, `${origin}\n${session}`, delta);
    add(perOrigin, origin, delta);
    allPages += delta;
  };
  return {
    take(origin: string, session: string): QuotaVerdict {
      if ((perPage.get(`${origin}\n${session}`) ?? 0) >= limits.perPage) return { ok: false, reason: `this page has ${limits.perPage} plugin sockets open` };
      if ((perOrigin.get(origin) ?? 0) >= limits.perOrigin) return { ok: false, reason: `this site has ${limits.perOrigin} plugin sockets open` };
      if (allPages >= limits.allPages) return { ok: false, reason: `pages have ${limits.allPages} plugin sockets open` };
      adjust(origin, session, 1);
      return { ok: true, release: () => adjust(origin, session, -1) };
    },
  };
}
