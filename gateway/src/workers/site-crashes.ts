import { createCrashPolicy, type CrashPolicy, type CrashPolicyOptions } from './crash-policy.js';

/**
 * The crash limit for pages, kept per site. A worker that crashes while pages' calls run may have
 * been crashed by their input: were those crashes counted for the plugin, as a broken backend's
 * are, any website could stop a plugin for every site and for the user by sending three bad calls
 * (helper-79: three undecodable images stopped image-reader everywhere until a reset). Charged to
 * the calling sites instead, they stop only those sites' calls, for the crash window.
 */
export interface SiteCrashes {
  /** Charges one crash to each site; returns those it now refuses (at the limit). */
  charge(sites: Iterable<string>, now: number): string[];
  /** Whether calls from `site` are refused at `now`. */
  refuses(site: string, now: number): boolean;
  /** Forgets every site (the plugin was changed or reset by the user). */
  reset(): void;
}

/**
 * Sites kept at most: past it the one charged longest ago is forgotten. A page rotating through
 * more sites than this gets three more crashes from a forgotten one, and the restart backoff
 * paces every crash whoever caused it.
 */
const MAX_SITES = 1024;

/**
 * @example
 *   const sites = createSiteCrashes({ limit: 3, windowMs: 300_000 });
 *   sites.charge(['evil.test'], Date.now()); // → [] (1 of 3)
 *   sites.refuses('evil.test', Date.now());  // → false
 */
export function createSiteCrashes(options: CrashPolicyOptions = {}, maxSites = MAX_SITES): SiteCrashes {
  const limit = options.limit ?? 3;
  const policies = new Map<string, CrashPolicy>();
  return {
    charge(sites, now) {
      const refused: string[] = [];
      for (const site of sites) {
        const policy = policies.get(site) ?? createCrashPolicy(options);
        // Most recently charged last: the first entry is the one to forget.
        policies.delete(site);
        policies.set(site, policy);
        if (policy.record(now).action === 'stop') refused.push(site);
      }
      for (const site of policies.keys()) {
        if (policies.size <= maxSites) break;
        policies.delete(site);
      }
      return refused;
    },
    refuses(site, now) {
      const policy = policies.get(site);
      if (!policy) return false;
      const recent = policy.recent(now);
      if (recent === 0) policies.delete(site);
      return recent >= limit;
    },
    reset() {
      policies.clear();
    },
  };
}
