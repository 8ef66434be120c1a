/**
 * Counts the calls each origin has in flight and refuses one over `max`: one site's pages cannot
 * take every worker and cloud slot from the others. The bridge counts its calls with one
 * (bridge-entry.ts) and the API the calls the extension makes for pages with another
 * (guard-requests.ts).
 *
 * @example
 *   const calls = createInFlightPerOrigin(32);
 *   const done = calls.enter(origin);
 *   if (!done) return tooMany();
 *   try { … } finally { done(); }
 */
export function createInFlightPerOrigin(max: number) {
  const running = new Map<string, number>();
  return {
    /** A function to call once the call is over, or null when the origin already has `max` in flight. */
    enter(origin: string): (() => void) | null {
      const count = running.get(origin) ?? 0;
      if (count >= max) return null;
      running.set(origin, count + 1);
      return () => {
        const left = (running.get(origin) ?? 1) - 1;
        if (left > 0) running.set(origin, left);
        else running.delete(origin);
      };
    },
  };
}
