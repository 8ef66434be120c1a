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

/**
 * The body without what the proxy injected: one contiguous run starting with the runtime (inline
 * plugin scripts never hold `</script`), and the plugins' style sheets and deferred scripts, one run
 * at the head's end.
 * `injected` is the two runs, in document order.
 */
export function withoutInjection(body: Buffer): { rest: Buffer; injected: string } {
  const text = body.toString('latin1');
  const marker = text.indexOf('data-aiplugs="runtime"');
  if (marker < 0) return { rest: body, injected: '' };
  const start = text.lastIndexOf('<script', marker);
  const pattern = /<script[^>]*data-aiplugs="runtime"[\s\S]*?<\/script>(?:<script[^>]* src="(?:https?:\/\/[^/"]+)?\/__aiplugs\/[^"]*"><\/script>|<script[^>]* data-aiplugs-plugin="[^"]*">[\s\S]*?<\/script>)*/y;
  pattern.lastIndex = start;
  const end = start + (pattern.exec(text)?.[0].length ?? 0);
  const headEnd = /(?:<link rel="stylesheet"[^>]* data-aiplugs-plugin="[^"]*" href="https?:\/\/[^/"]+\/__aiplugs\/[^"]*"\/?>|<script defer(?:="defer")?[^>]* data-aiplugs-plugin="[^"]*" src="https?:\/\/[^/"]+\/__aiplugs\/[^"]*"><\/script>)+/g;
  headEnd.lastIndex = end;
  const tail = headEnd.exec(text);
  const runs: Array<[number, number]> = tail ? [[start, end], [tail.index, tail.index + tail[0].length]] : [[start, end]];
  const kept = [0, ...runs.flat(), body.length];
  const rest: Buffer[] = [];
  for (let at = 0; at < kept.length; at += 2) rest.push(body.subarray(kept[at], kept[at + 1]));
  return { rest: Buffer.concat(rest), injected: runs.map(([from, to]) => text.slice(from, to)).join('') };
}
