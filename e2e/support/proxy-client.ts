import { readFile } from 'node:fs/promises';
import { ProxyAgent, request } from 'undici';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * A non-browser client through the gateway proxy, for byte-level checks a browser hides
 * (exact bodies, encodings, headers). It trusts the gateway CA, like a configured browser would.
 */
export async function proxiedRequest(proxyUrl: string, caCertPath: string, url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawResponse> {
  const agent = new ProxyAgent({ uri: proxyUrl, requestTls: { ca: await readFile(caCertPath, 'utf8') } });
  try {
    // A copy: undici's ProxyAgent adds a `host` to the headers object it is given, and a shared one
    // (NAVIGATION_HEADERS) then named the first request's site in every later request.
    const response = await request(url, { dispatcher: agent, method: (options.method ?? 'GET') as 'GET', headers: { ...options.headers }, ...(options.body !== undefined ? { body: options.body } : {}) });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : String(value ?? '');
    return { status: response.statusCode, headers, body: Buffer.from(await response.body.arrayBuffer()) };
  } finally {
    await agent.close();
  }
}

/** Headers Chromium sends for a top-level navigation. */
export const NAVIGATION_HEADERS = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8', 'sec-fetch-dest': 'document', 'sec-fetch-mode': 'navigate' };

/** The injected markup is one contiguous run starting with the runtime (inline plugin scripts never hold `</script`); returns the body without it. */
export function withoutInjection(body: Buffer): { rest: Buffer; injected: string } {
  const text = body.toString('latin1');
  const marker = text.indexOf('data-aiplugs="runtime"');
  if (marker < 0) return { rest: body, injected: '' };
  const start = text.lastIndexOf('<script', marker);
  const pattern = /<script[^>]*data-aiplugs="runtime"[\s\S]*?<\/script>(?:<link [^>]*href="\/__aiplugs\/[^"]*">|<script[^>]* src="\/__aiplugs\/[^"]*"><\/script>|<script[^>]* data-aiplugs-plugin="[^"]*">[\s\S]*?<\/script>)*/y;
  pattern.lastIndex = start;
  const match = pattern.exec(text);
  const end = start + (match?.[0].length ?? 0);
  return { rest: Buffer.concat([body.subarray(0, start), body.subarray(end)]), injected: text.slice(start, end) };
}
