import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PluginManifest } from '../../plugins/manifest-schema.js';
import type { LoadedPlugin } from '../../plugins/plugin-registry.js';

/** Answers one request; `body` is the request body as text. */
export type CloudHandler = (request: IncomingMessage, body: string, response: ServerResponse) => unknown;

export interface SeenRequest {
  url: string;
  body: unknown;
  authorization: string | undefined;
  accept: string | undefined;
  /** Settles when the answer is over: true if the server finished it, false if the client went away first. */
  finished: Promise<boolean>;
}

export interface CloudTestServer {
  baseUrl: string;
  /** Every request received, in order: the count of upstream calls. */
  seen: SeenRequest[];
  /** What the next requests get (until set again). */
  handler: CloudHandler;
  close(): Promise<void>;
}

/**
 * A loopback stand-in for vLLM/Ollama/LocalAI (or a remote AiPlugs gateway): each test scripts
 * its answers through `handler`; every request is recorded.
 *
 * @example
 *   const server = await startCloudTestServer();
 *   server.handler = (_request, _body, response) => response.writeHead(500).end();
 */
export async function startCloudTestServer(): Promise<CloudTestServer> {
  const state: CloudTestServer = {
    baseUrl: '',
    seen: [],
    handler: (_request, _body, response) => response.end(),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (text: string) => (body += text));
    request.on('end', () => {
      const finished = new Promise<boolean>((resolve) => response.on('close', () => resolve(response.writableFinished)));
      state.seen.push({ url: request.url ?? '', body: body ? JSON.parse(body) : null, authorization: request.headers.authorization, accept: request.headers.accept, finished });
      void state.handler(request, body, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

/** A loaded plugin in cloud mode with the given `inference.cloud` section. */
export function cloudPlugin(cloud?: NonNullable<PluginManifest['inference']>['cloud']): LoadedPlugin {
  const manifest: PluginManifest = {
    manifest_version: 3,
    id: 'summarize',
    name: 'Summarize',
    version: '1.0.0',
    description: '',
    content_scripts: [],
    inference: { default_mode: 'cloud', models: [], env: [], ...(cloud ? { cloud } : {}) },
  };
  return { id: 'summarize', dir: '/nonexistent', status: 'enabled', manifest, contentScripts: [], revision: 'r1', inlineScripts: new Map() };
}

/** Writes `value` as a JSON answer. */
export function answerJson(response: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(value));
}

/** An OpenAI chat completion with `content`. */
export const completion = (content: string, usage: unknown = { total_tokens: 3 }) => ({
  model: 'served-model',
  choices: [{ message: { role: 'assistant', content }, finish_reason: 'stop' }],
  usage,
});

/** One OpenAI streaming chunk as an SSE event. */
export const deltaEvent = (content: string | null, finish: string | null = null) =>
  `data: ${JSON.stringify({ model: 'm', choices: [{ delta: content === null ? { role: 'assistant' } : { content }, finish_reason: finish }] })}\n\n`;
