import type { OngoingRequest } from 'mockttp';
import type { RequestMatcher } from 'mockttp/dist/rules/matchers';
// The class alone, not mockttp's index (see create-proxy.ts).
import { Serializable } from 'mockttp/dist/serialization/serialization';

/** What a head matcher may read: the request line and headers, never the body. */
export type RequestHead = Pick<OngoingRequest, 'method' | 'url' | 'headers' | 'destination'>;

/**
 * A mockttp rule matcher that decides on the request's head, synchronously.
 *
 * Why it exists: mockttp's `.matching(callback)` first waits for the whole request body and
 * builds a completed copy of the request (headers, trailers, the body buffered), then calls back
 * through a promise. mockttp tries every rule's matchers on every request, so each GET met the
 * proxy's document rule: a passed-through GET reached the site only once its body had ended (a body still arriving held
 * the request for good), and every GET paid for the copy (~2% of the proxy's CPU in a profile of
 * 10,000 injected documents; 20 alternating blocks of 1,000 requests showed no difference beyond
 * the noise of a shared machine). mockttp takes a matcher that answers `true` or `false` at once
 * without a promise at all.
 *
 * In-process servers only (like the gateway's): it is not serialized for a remote mockttp.
 */
export class HeadMatcher extends Serializable implements RequestMatcher {
  // mockttp wants one of its matcher kinds here; the name is read only when a rule is serialized
  // for a remote mockttp, which never happens to this one.
  readonly type = 'callback';

  constructor(
    private readonly description: string,
    private readonly test: (request: RequestHead) => boolean,
  ) {
    super();
  }

  matches(request: OngoingRequest): boolean {
    return this.test(request);
  }

  explain(): string {
    return `for ${this.description}`;
  }
}
