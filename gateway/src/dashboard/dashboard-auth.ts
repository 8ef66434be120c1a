import { randomBytes } from 'node:crypto';
import { tokensEqual } from '../api/token-compare.js';

export interface DashboardAuthOptions {
  /** Per API port, since browsers share cookies between ports of one host. */
  cookieName: string;
  /** How long a login link stays valid if nobody opens it. */
  linkTtlMs?: number;
  now?: () => number;
}

export interface DashboardAuth {
  cookieName: string;
  /** A code for `GET /login?code=`: works once, then never again. */
  mintLoginCode(): string;
  /** Consumes a login code; true if it was valid (and now is not). */
  redeemLoginCode(code: string): boolean;
  /** A new browser session: its id, for the cookie, and its key, for the page (page/session-names.ts). */
  createSession(): { session: string; key: string };
  endSession(cookieHeader: string | undefined): void;
  /**
   * Whether a request's Cookie header carries a live session, and, when `key` is given (an API
   * call's; null for the dashboard's own pages, which hold no secret), the key of that session.
   */
  isSession(cookieHeader: string | undefined, key: string | null | undefined): boolean;
  /** The Set-Cookie value for a session (HttpOnly, SameSite=Strict, whole site). */
  sessionCookie(session: string): string;
}

/** Reads one cookie from a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return null;
}

/**
 * Logins for the dashboard. The CLI prints a one-time link (`/login?code=…`); opening it trades
 * the code for an HttpOnly, SameSite=Strict session cookie and a key the page keeps (see
 * page/session-names.ts: the cookie also reaches other ports of 127.0.0.1), so the token itself
 * never sits in a URL or browser history. Sessions live in memory: a restart logs everyone out.
 */
export function createDashboardAuth(options: DashboardAuthOptions): DashboardAuth {
  const ttl = options.linkTtlMs ?? 24 * 3600_000;
  const now = options.now ?? Date.now;
  const codes = new Map<string, number>();
  /** Session id → its key. */
  const sessions = new Map<string, string>();
  const secret = () => randomBytes(32).toString('base64url');
  return {
    cookieName: options.cookieName,
    mintLoginCode() {
      for (const [code, expires] of codes) if (expires < now()) codes.delete(code);
      const code = secret();
      codes.set(code, now() + ttl);
      return code;
    },
    redeemLoginCode(code) {
      const expires = codes.get(code);
      codes.delete(code);
      return expires !== undefined && expires >= now();
    },
    createSession() {
      const session = secret();
      const key = secret();
      sessions.set(session, key);
      return { session, key };
    },
    endSession(header) {
      const session = readCookie(header, options.cookieName);
      if (session) sessions.delete(session);
    },
    isSession(header, key) {
      const session = readCookie(header, options.cookieName);
      const expected = session === null ? undefined : sessions.get(session);
      if (expected === undefined || key === undefined) return false;
      return key === null || tokensEqual(key, expected);
    },
    sessionCookie: (session) => `${options.cookieName}=${session}; Path=/; HttpOnly; SameSite=Strict`,
  };
}
