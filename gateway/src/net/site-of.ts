import { getDomain } from 'tldts';

/**
 * The site an origin belongs to, for the limits that keep one site from taking every page's
 * share: its registrable domain by the Public Suffix List (`a.shop.com` and `b.shop.com` are
 * `shop.com`), else its host (an IP address, `localhost`). One owner holds any number of
 * subdomains, ports and both schemes, so none of them opens a budget of its own. The list's private
 * section counts too: `alice.github.io` and `bob.github.io` are two sites, as browsers keep them.
 * Why tldts: it carries the list compiled into a lookup trie, with no I/O and no dependencies but
 * its own core, and it is kept in step with the list (README, "Libraries and why").
 */
export function siteOf(origin: string): string {
  const host = new URL(origin).hostname.toLowerCase();
  return getDomain(host, { allowPrivateDomains: true }) ?? host;
}
