/*
 * No imports: the extension uses this module too (extension/src/background/gateway-connection.ts),
 * and both ends compute the proof with WebCrypto, so there is one implementation of it.
 */

/**
 * A gateway's proof that it holds a token, for a fresh nonce the asker chose: an HMAC under the
 * token, bound to the API port the gateway listens on. The extension checks it before it sends a
 * token anywhere, so a local program that answers on a gateway port (the gateway stopped, or never
 * ran there) learns nothing it could use: not the token, and no proof it could relay from the real
 * gateway, which is on another port.
 */
export async function tokenProof(token: string, apiPort: number, nonce: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey('raw', encoder.encode(token), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await crypto.subtle.sign('HMAC', key, encoder.encode(`aiplugs-token-proof\n${apiPort}\n${nonce}`));
  return base64url(new Uint8Array(mac));
}

/** A nonce for `tokenProof`: 24 random bytes, base64url. */
export function proofNonce(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(24)));
}

/** What a proof request's nonce must look like. */
export const PROOF_NONCE = /^[A-Za-z0-9_-]{22,64}$/;

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
