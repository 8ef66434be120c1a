import { randomBytes } from 'node:crypto';
import { PAIRING_CODE_TTL_MS } from '../dashboard/page/pairing-messages.js';

export interface PairingCodesOptions {
  /** How long a code stays valid if nobody redeems it. */
  ttlMs?: number;
  /** Codes held at once; the oldest goes first (each mint is a token-holder's call, but memory stays bounded). */
  maxOutstanding?: number;
  now?: () => number;
}

export interface MintedCode {
  code: string;
  expiresAt: number;
}

/** Why a redeem failed, in words for the gateway's log (the caller only learns that it failed). */
export type RedeemOutcome = { ok: true } | { ok: false; reason: 'unknown' | 'expired' | 'wrong_redeemer' };

export interface PairingCodes {
  /** A one-time code only `redeemer` (an extension's Origin) can trade for the token. */
  mint(redeemer: string): MintedCode;
  /** Consumes the code whatever the outcome: a code shown to the wrong party is spent. */
  redeem(code: string, origin: string | undefined): RedeemOutcome;
}

/**
 * One-time pairing codes: the way the API token reaches the extension without a person copying
 * it and without any web page seeing it. A code is bound at mint time to the Origin of the one
 * extension that may redeem it (`chrome-extension://<id>`, which the browser sets and neither a
 * page nor another extension can forge), lives two minutes, and works once.
 */
export function createPairingCodes(options: PairingCodesOptions = {}): PairingCodes {
  const ttl = options.ttlMs ?? PAIRING_CODE_TTL_MS;
  const max = options.maxOutstanding ?? 32;
  const now = options.now ?? Date.now;
  const codes = new Map<string, { redeemer: string; expiresAt: number }>();
  return {
    mint(redeemer) {
      for (const [code, entry] of codes) if (entry.expiresAt < now()) codes.delete(code);
      while (codes.size >= max) codes.delete(codes.keys().next().value!);
      const code = randomBytes(32).toString('base64url');
      const expiresAt = now() + ttl;
      codes.set(code, { redeemer, expiresAt });
      return { code, expiresAt };
    },
    redeem(code, origin) {
      const entry = codes.get(code);
      codes.delete(code);
      if (!entry) return { ok: false, reason: 'unknown' };
      if (entry.expiresAt < now()) return { ok: false, reason: 'expired' };
      if (origin !== entry.redeemer) return { ok: false, reason: 'wrong_redeemer' };
      return { ok: true };
    },
  };
}
