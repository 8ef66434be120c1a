import { isIP } from 'node:net';
import type { Destination, Mockttp } from 'mockttp';
import { Always } from 'mockttp/dist/rules/completion-checkers';
import { FixedResponseStep } from 'mockttp/dist/rules/requests/request-step-definitions';
import { errorBody } from '../api/api-error.js';
import { HeadMatcher } from './head-matcher.js';

/** Above every other rule (the bridge's are at 2): nothing else may see such a request. */
const FIRST = 3;

/** A host as the URL parser writes it (IPv6 shortened, without brackets), less a trailing dot. */
const canonicalHost = (host: string): string => {
  const bare = host.replace(/^\[|\]$/g, '');
  return new URL(`http://${isIP(bare) === 6 ? `[${bare}]` : bare}/`).hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
};

/**
 * Whether a request's URL names another host than the IP address it is going to.
 *
 * mockttp builds the URL of a request in a tunnel to an IP address from its Host header (a
 * transparent proxy learns the site's name no other way), while it still sends it to the IP. So a
 * local program could tunnel to its own server and name any site in Host: the proxy injected that
 * site's plugins into its own HTML, with a capability for an origin it is not. A browser names the
 * site in the tunnel itself (CONNECT example.com:443), and mockttp then builds the URL from that
 * name, so only a destination that is an IP address can disagree with its URL.
 */
export function isMisdirected(request: { url: string; destination: Destination }): boolean {
  const destination = request.destination.hostname.replace(/^\[|\]$/g, '');
  if (isIP(destination) === 0) return false;
  return canonicalHost(new URL(request.url).hostname) !== canonicalHost(destination);
}

/** The proxy's first rules: a request or WebSocket whose URL names another host than it goes to gets 421 Misdirected Request. */
export async function addMisdirectedRules(server: Mockttp): Promise<void> {
  const body = JSON.stringify(errorBody('misdirected_request', 'The Host header names another host than the one this request goes to'));
  await server.addRequestRule({
    priority: FIRST,
    matchers: [new HeadMatcher('requests to another host than they name', isMisdirected)],
    completionChecker: new Always(),
    steps: [new FixedResponseStep(421, 'Misdirected Request', body, { 'content-type': 'application/json', 'cache-control': 'no-store' })],
  });
  await server.forAnyWebSocket().matching(isMisdirected).asPriority(FIRST).always().thenRejectConnection(421, 'Misdirected Request');
}
