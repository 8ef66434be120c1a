import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { pluginIdSchema } from '../plugins/manifest-schema.js';
import { randomFromPool } from './random-pool.js';

/**
 * What one injected document may do through the bridge: call the plugins the proxy injected into
 * it, on the origin it was served from. `session` is unique per document load; it keys the page's
 * sockets so that one page can never replace another page's socket.
 */
export interface PageGrant {
  origin: string;
  plugins: string[];
  session: string;
  /** The page may use Web AI (the browser's built-in AI APIs served by AiPlugs, docs/WEBAI.md). */
  webai?: boolean;
}

/**
 * Mints and checks bridge capabilities: `base64url(payload).base64url(mac)`, where the MAC is an
 * HMAC-SHA256 under a key that never leaves this process, over the payload AND the origin it was
 * minted for. The origin is not in the token; it is the origin the request arrives on, so a token
 * copied to another site (or presented by a program claiming another site) fails the MAC.
 *
 * Stateless on purpose: a flood of page loads costs no memory, and a token stays valid for as
 * long as its page is open (until the gateway restarts, which changes the key).
 *
 * @example
 *   const capabilities = createCapabilityIssuer();
 *   const token = capabilities.mint({ origin: 'https://example.com', plugins: ['echo'], session: capabilities.newSession(), webai: true });
 *   capabilities.verify(token, 'https://example.com'); // → the grant
 *   capabilities.verify(token, 'https://evil.example'); // → null
 */
export interface CapabilityIssuer {
  mint(grant: PageGrant): string;
  verify(token: string, origin: string): PageGrant | null;
  newSession(): string;
}

const payloadSchema = z.tuple([z.literal(1), z.string().regex(/^[A-Za-z0-9_-]{8,64}$/), z.array(pluginIdSchema).max(256)], z.literal('webai')).refine((payload) => payload.length <= 4, 'at most one grant flag');

/** Longest token accepted: 256 plugin ids of 64 characters, base64url, plus the MAC. */
const MAX_TOKEN_LENGTH = 24 * 1024;

/** Tokens travel in URL paths and WebSocket subprotocols: base64url, a dot, base64url. */
export const CAPABILITY_TOKEN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/;

export function createCapabilityIssuer(key: Buffer = randomBytes(32)): CapabilityIssuer {
  const mac = (origin: string, payload: string) => createHmac('sha256', key).update(`${origin}\n${payload}`).digest();
  return {
    mint({ origin, plugins, session, webai }) {
      const payload = Buffer.from(JSON.stringify([1, session, plugins, ...(webai ? ['webai'] : [])])).toString('base64url');
      return `${payload}.${mac(origin, payload).toString('base64url')}`;
    },
    verify(token, origin) {
      if (token.length > MAX_TOKEN_LENGTH || !CAPABILITY_TOKEN.test(token)) return null;
      const [payload = '', signature = ''] = token.split('.');
      const given = Buffer.from(signature, 'base64url');
      const expected = mac(origin, payload);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
      let decoded: unknown;
      try {
        decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      } catch {
        return null;
      }
      const parsed = payloadSchema.safeParse(decoded);
      if (!parsed.success) return null;
      return { origin, session: parsed.data[1], plugins: parsed.data[2], ...(parsed.data[3] === 'webai' ? { webai: true } : {}) };
    },
    newSession: () => randomFromPool(12).toString('base64url'),
  };
}
