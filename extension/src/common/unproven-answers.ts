/**
 * Answers the extension takes before a server has proved it holds the token: health (how the
 * gateway is found), the token proof, a pairing code's redemption. Any local program may give
 * them from a gateway port, so each is checked against its schema: a server that answers
 * anything else is not taken for AiPlugs, and none of its words reach the popup beyond a version
 * that looks like one.
 */
import { z } from 'zod/mini';

const port = z.number().check(z.int(), z.gte(1), z.lte(65_535));

export const GatewayHealthSchema = z.object({
  status: z.literal('ok'),
  name: z.literal('aiplugs'),
  /** Shown in the popup ("AiPlugs 0.1.0 runs at …"): a version, never a sentence. */
  version: z.string().check(z.regex(/^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$/)),
  apiPort: port,
  proxyPort: port,
});
export type GatewayHealth = z.infer<typeof GatewayHealthSchema>;

/** gateway/src/pairing/token-proof.ts: base64url of an HMAC-SHA256. */
export const TokenProofAnswerSchema = z.object({ proof: z.string().check(z.maxLength(128)) });

/** The token is what gateway/src/data/data-dir.ts makes: base64url, 32 characters or more. */
export const PairingRedeemAnswerSchema = z.object({ token: z.string().check(z.regex(/^[A-Za-z0-9_-]{32,}$/)), api_url: z.string().check(z.maxLength(2048)) });
