/**
 * Per-site switches use host patterns as people write them: `example.com` covers the host and
 * its subdomains, `*.example.com` only subdomains, `*` everything.
 */
export function hostMatchesSitePattern(hostname: string, pattern: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  const wanted = pattern.trim().toLowerCase().replace(/\.$/, '');
  if (wanted === '*') return true;
  if (wanted.startsWith('*.')) return host.endsWith(wanted.slice(1));
  return host === wanted || host.endsWith(`.${wanted}`);
}
