import { getDomain } from 'tldts';

/**
 * The site an origin belongs to, for the limits that keep one site from taking every page's
 * share: its registrable domain by the Public Suffix List (`a.shop.com` and `b.shop.com` are
 * `shop.com`), else its host (an IPv4 address, `localhost`), and for an IPv6 address its /64, which
 * is what one host or network is given. One owner holds any number of subdomains, ports and both
 * schemes, so none of them opens a budget of its own. The list's private section counts too:
 * `alice.github.io` and `bob.github.io` are two sites, as browsers keep them.
 * Why tldts: it carries the list compiled into a lookup trie, with no I/O and no dependencies but
 * its own core, and it is kept in step with the list (README, "Libraries and why").
 */
export function siteOf(origin: string): string {
  const host = new URL(origin).hostname.toLowerCase();
  if (host.startsWith('[')) return ipv6Network(host.slice(1, -1));
  // Hostname validation off: a label browsers take (`-a.shop.com`) must not make a site of its own.
  return getDomain(host, { allowPrivateDomains: true, validateHostname: false }) ?? host;
}

/** The /64 network of an IPv6 address as the URL parser writes it (compressed, lower case). */
function ipv6Network(address: string): string {
  const [head = '', tail] = address.split('::');
  const groups = head ? head.split(':') : [];
  if (tail !== undefined) {
    const rest = tail ? tail.split(':') : [];
    // An embedded IPv4 tail (`::ffff:1.2.3.4`) is written as hex groups by the URL parser already.
    groups.push(...new Array<string>(8 - groups.length - rest.length).fill('0'), ...rest);
  }
  return `[${groups.slice(0, 4).map((group) => group.replace(/^0+(?=.)/, '')).join(':')}::/64]`;
}
