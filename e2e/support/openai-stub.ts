import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One chat request as the stub received it. */
export interface StubRequest {
  authorization: string | undefined;
  body: { stream?: boolean; messages: Array<{ role: string; content: string }>; max_tokens?: number };
  /** Set when the client went away before the stub finished its answer. */
  abandoned: boolean;
}

/**
 * A stand-in for an OpenAI-compatible server (vLLM, Ollama…) on loopback: answers
 * `POST /v1/chat/completions` with `first`, streamed, then holds the stream open until `release()`
 * before sending `second`, so a test observes streaming (and cancellation) without timing anything.
 */
export async function startOpenAiStub(first: string, second: string) {
  const requests: StubRequest[] = [];
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const server: Server = createServer(async (request: IncomingMessage, response) => {
    let text = '';
    for await (const chunk of request) text += chunk;
    if (request.method !== 'POST' || request.url !== '/v1/chat/completions') return void response.writeHead(404).end('{}');
    const record: StubRequest = { authorization: request.headers.authorization, body: JSON.parse(text) as StubRequest['body'], abandoned: false };
    requests.push(record);
    response.on('close', () => {
      if (!response.writableFinished) record.abandoned = true;
    });
    const chunk = (content: string, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'stub-model', choices: [{ index: 0, delta: { content }, finish_reason: finish }] })}\n\n`;
    if (!record.body.stream) {
      response.writeHead(200, { 'content-type': 'application/json' });
      return void response.end(JSON.stringify({ id: 'c1', object: 'chat.completion', model: 'stub-model', choices: [{ index: 0, message: { role: 'assistant', content: first + second }, finish_reason: 'stop' }] }));
    }
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    response.write(chunk(first));
    await released;
    if (response.destroyed) return;
    response.write(chunk(second, 'stop'));
    response.end('data: [DONE]\n\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    release: () => release(),
    close: () =>
      new Promise<void>((resolve) => {
        release();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
