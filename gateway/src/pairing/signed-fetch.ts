import { signedAuthorization } from './token-proof.js';

/**
 * A call to a gateway's API signed with its token, never carrying it. The CLI and the Playwright
 * helper prove the gateway on runtime.json's port holds the token before they call it, but it may
 * exit in between and another program take the port: that program then hears a signature good for
 * this one request, on this port, within a minute, and at no gateway started after it was made
 * (api/signed-calls.ts), which is the only one it could still reach.
 */
export async function signedFetch(apiUrl: string, token: string, path: string, init: { method?: string; json?: unknown; timeoutMs?: number } = {}): Promise<Response> {
  const url = new URL(path, apiUrl);
  const method = init.method ?? 'GET';
  const authorization = await signedAuthorization(token, { apiPort: Number(url.port) || 80, method, target: url.pathname + url.search });
  return fetch(url, {
    method,
    headers: { authorization, ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
    signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
  });
}
