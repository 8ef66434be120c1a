import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A stand-in for the user's paid cloud AI server, for tests that a page cannot spend it. */
export interface PaidCloud {
  /** Its OpenAI-style base URL (`CLOUD_BASE_URL`). */
  baseUrl: string;
  /** Completions it was asked for so far. */
  calls(): number;
  /** The `max_tokens` of every completion it was asked for, in order. */
  maxTokens: unknown[];
  close(): Promise<void>;
}

/** Starts it on loopback: every completion is answered with "paid answer", and counted. */
export async function startPaidCloud(): Promise<PaidCloud> {
  let calls = 0;
  const maxTokens: unknown[] = [];
  const server = createServer((request, response) => {
    calls += 1;
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      try {
        maxTokens.push((JSON.parse(body) as { max_tokens?: unknown }).max_tokens);
      } catch {
        maxTokens.push('not json');
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ id: 'c1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'paid answer' }, finish_reason: 'stop' }] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    calls: () => calls,
    maxTokens,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
