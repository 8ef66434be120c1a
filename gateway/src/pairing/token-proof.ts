/*
 * No imports: the extension uses this module too (extension/src/background/gateway-connection.ts),
 * and both ends compute the proof with WebCrypto, so there is one implementation of it.
 */

async function hmac(token: string, text: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey('raw', encoder.encode(token), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return base64url(new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(text))));
}

/**
 * A gateway's proof that it holds a token, for a fresh nonce the asker chose: an HMAC under the
 * token, bound to the API port the gateway listens on. The extension checks it before it sends a
 * token anywhere, so a local program that answers on a gateway port (the gateway stopped, or never
 * ran there) learns nothing it could use: not the token, and no proof it could relay from the real
 * gateway, which is on another port.
 */
export function tokenProof(token: string, apiPort: number, nonce: string): Promise<string> {
  return hmac(token, `aiplugs-token-proof\n${apiPort}\n${nonce}`);
}

/** The Authorization scheme of a signed call: `AiPlugs-Signed <ms since epoch>.<nonce>.<signature>`. */
export const SIGNED_CALL_SCHEME = 'AiPlugs-Signed';

/** What a signed call covers: the token's holder, the gateway's port, the request, when, and a nonce used once. */
export interface SignedCall {
  apiPort: number;
  method: string;
  /** Path and query, as the URL parser gives them (`pathname + search`). */
  target: string;
  timestamp: number;
  nonce: string;
}

export function callSignature(token: string, call: SignedCall): Promise<string> {
  return hmac(token, `aiplugs-call\n${call.apiPort}\n${call.method}\n${call.target}\n${call.timestamp}\n${call.nonce}`);
}

/**
 * The Authorization header of a call that never carries the token: a server on the gateway's
 * port that is not the gateway (it stopped, and another program took the port) hears a signature
 * good for this one request, on this port, once, for a minute, and cannot use it anywhere else.
 */
export async function signedAuthorization(token: string, call: Omit<SignedCall, 'nonce' | 'timestamp'>, now = Date.now()): Promise<string> {
  const signed = { ...call, timestamp: now, nonce: proofNonce() };
  return `${SIGNED_CALL_SCHEME} ${signed.timestamp}.${signed.nonce}.${await callSignature(token, signed)}`;
}

/** The parts of a signed Authorization header, or null when it is not one. */
export function parseSignedAuthorization(header: string): { timestamp: number; nonce: string; signature: string } | null {
  const match = /^AiPlugs-Signed (\d{1,15})\.([A-Za-z0-9_-]{22,64})\.([A-Za-z0-9_-]{43})$/.exec(header);
  return match ? { timestamp: Number(match[1]), nonce: match[2]!, signature: match[3]! } : null;
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
