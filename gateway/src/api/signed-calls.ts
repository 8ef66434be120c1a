import { tokensEqual } from './token-compare.js';
import { callSignature, parseSignedAuthorization, type SignedCall } from '../pairing/token-proof.js';

/** How far a signed call's clock may be from the gateway's, either way. */
export const SIGNED_CALL_WINDOW_MS = 60_000;
/** Nonces remembered at most: only the token's holder adds any, and each is forgotten after two windows. */
const MAX_REMEMBERED_NONCES = 100_000;

export type SignedCallVerdict = 'ok' | 'invalid' | 'stale' | 'replayed' | 'busy';

/**
 * Checks calls signed with the token (`AiPlugs-Signed`, pairing/token-proof.ts) instead of
 * carrying it: the signature must be the token's for this port and request, within the clock
 * window, and its nonce new. A nonce is remembered only once its signature is valid, so nobody
 * without the token can fill the memory of them. Nonces live in this process only, so a call signed
 * before it started (`startedAt`) was meant for an earlier gateway and is refused: a program that
 * took the port of a stopped gateway and heard a signed call cannot replay it to the next one.
 */
export function createSignedCallCheck(token: string, options: { maxNonces?: number; startedAt?: number } = {}) {
  const maxNonces = options.maxNonces ?? MAX_REMEMBERED_NONCES;
  const startedAt = options.startedAt ?? Date.now();
  const seen = new Map<string, number>();
  const forgetExpired = (now: number) => {
    for (const [nonce, expires] of seen) {
      if (expires > now) break; // in insertion order, which is expiry order
      seen.delete(nonce);
    }
  };
  return async (header: string, call: Omit<SignedCall, 'timestamp' | 'nonce'>, now = Date.now()): Promise<SignedCallVerdict> => {
    const parts = parseSignedAuthorization(header);
    if (!parts) return 'invalid';
    const expected = await callSignature(token, { ...call, timestamp: parts.timestamp, nonce: parts.nonce });
    if (!tokensEqual(parts.signature, expected)) return 'invalid';
    if (Math.abs(now - parts.timestamp) > SIGNED_CALL_WINDOW_MS || parts.timestamp < startedAt) return 'stale';
    forgetExpired(now);
    if (seen.has(parts.nonce)) return 'replayed';
    if (seen.size >= maxNonces) return 'busy';
    seen.set(parts.nonce, now + 2 * SIGNED_CALL_WINDOW_MS);
    return 'ok';
  };
}
