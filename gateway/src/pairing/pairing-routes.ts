import { Hono } from 'hono';
import { z } from 'zod';
import { ApiError, parseJsonBody } from '../api/api-error.js';
import type { ApiEnv } from '../api/api-env.js';
import type { Logger } from '../events/logger.js';
import { AIPLUGS_EXTENSION_ID, extensionOrigin } from './extension-id.js';
import type { PairingCodes } from './pairing-codes.js';
import { PROOF_NONCE, tokenProof } from './token-proof.js';

export interface PairingRoutesOptions {
  codes: PairingCodes;
  token: string;
  apiUrl: () => string;
  logger: Logger;
}

const mintBody = z.object({ extension_id: z.string().regex(/^[a-p]{32}$/, 'a Chromium extension id is 32 letters a-p').optional() });
const redeemBody = z.object({ code: z.string().min(1).max(100) });
const proofBody = z.object({ nonce: z.string().regex(PROOF_NONCE, 'a nonce is 22-64 base64url characters') });

/**
 * `POST /api/pairing/codes` (token or dashboard session): a one-time code for the AiPlugs
 * extension, or for `extension_id` (`aiplugs browser` with another build).
 * `POST /api/pairing/redeem` (no token; only from the extension the code is bound to): the token.
 * `POST /api/pairing/proof` (no token): proof that this gateway holds the token (token-proof.ts),
 * which the extension asks for before it sends a token to an address.
 */
export function pairingRoutes(options: PairingRoutesOptions) {
  return new Hono<ApiEnv>()
    .post('/codes', async (c) => {
      const body = await parseJsonBody(c, mintBody);
      const id = body.extension_id ?? AIPLUGS_EXTENSION_ID;
      const minted = options.codes.mint(extensionOrigin(id));
      options.logger.info(`Pairing: one-time code issued for extension ${id}`);
      return c.json({ code: minted.code, expires_at: new Date(minted.expiresAt).toISOString(), api_url: options.apiUrl(), extension_id: id });
    })
    .post('/redeem', async (c) => {
      const body = await parseJsonBody(c, redeemBody);
      const origin = c.req.header('origin');
      const outcome = options.codes.redeem(body.code, origin);
      if (!outcome.ok) {
        options.logger.warn(`Pairing: a code was refused (${outcome.reason.replace('_', ' ')}) from ${origin ?? 'a caller with no Origin'}`);
        throw new ApiError(403, 'pairing_refused', 'This pairing code is not valid here (used, expired, or meant for another extension). Pair again from the dashboard or `aiplugs browser`.');
      }
      options.logger.info(`Pairing: ${origin} is paired`);
      return c.json({ token: options.token, api_url: options.apiUrl() });
    })
    .post('/proof', async (c) => {
      const { nonce } = await parseJsonBody(c, proofBody);
      return c.json({ proof: await tokenProof(options.token, Number(new URL(options.apiUrl()).port), nonce) });
    });
}
