// One rule for per-site switches, shared with the gateway so the two can never disagree.
export { hostMatchesSitePattern } from '../../../gateway/src/settings/site-patterns';

/** The pattern a per-site toggle writes for a page: its host name, as the gateway accepts it. */
export function sitePatternFor(url: string): string | null {
  try {
    const { hostname, protocol } = new URL(url);
    if (protocol !== 'http:' && protocol !== 'https:') return null;
    return /^(\*|(\*\.)?[a-z0-9.-]+)$/i.test(hostname) ? hostname.toLowerCase() : null;
  } catch {
    return null;
  }
}
