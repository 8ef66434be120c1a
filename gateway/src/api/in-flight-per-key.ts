/**
 * Counts what each key (a site, a page load) has in flight and refuses one over `max`, so one
 * site's pages cannot take every worker, cloud slot or socket from the others. The bridge and the
 * API count page calls per site with it (bridge-entry.ts, guard-requests.ts), and the socket
 * endpoint counts page sockets (connections/page-socket-quota.ts). Keys at zero are forgotten.
 *
 * @example
 *   const calls = createInFlightPerKey(32);
 *   const done = calls.enter(origin);
 *   if (!done) return tooMany();
 *   try { … } finally { done(); }
 */
export function createInFlightPerKey(max: number) {
  const running = new Map<string, number>();
  return {
    /** A function to call once (when it is over), or null when the key already has `max` in flight. */
    enter(key: string): (() => void) | null {
      const count = running.get(key) ?? 0;
      if (count >= max) return null;
      running.set(key, count + 1);
      return () => {
        const left = (running.get(key) ?? 1) - 1;
        if (left > 0) running.set(key, left);
        else running.delete(key);
      };
    },
  };
}
