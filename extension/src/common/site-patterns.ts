/**
 * Per-site switches use host patterns as people write them, the gateway's rule
 * (`gateway/src/settings/site-patterns.ts`): `example.com` covers the host and its subdomains,
 * `*.example.com` only subdomains, `*` everything.
 */
export function hostMatchesSitePattern(hostname: string, pattern: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  const wanted = pattern.trim().toLowerCase().replace(/\.$/, '');
  if (wanted === '*') return true;
  if (wanted.startsWith('*.')) return host.endsWith(wanted.slice(1));
  return host === wanted || host.endsWith(`.${wanted}`);
}

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
