import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createEventBus } from '../events/event-bus.js';
import { createLogger } from '../events/logger.js';
import { createCloudRelay, type CloudRelayOptions, type CloudRelaySettings } from './cloud-relay.js';
import { answerJson, cloudPlugin, completion, deltaEvent, startCloudTestServer, type CloudTestServer } from './testing/cloud-test-server.js';

let server: CloudTestServer;
before(async () => {
  server = await startCloudTestServer();
});
after(() => server.close());
beforeEach(() => {
  server.seen.length = 0;
});

const signal = () => new AbortController().signal;

/** A relay on the test server, with its log lines collected. */
function relay(overrides: Partial<CloudRelaySettings> = {}, options: Partial<CloudRelayOptions> = {}) {
  const settings: CloudRelaySettings = { base_url: server.baseUrl, api_key: null, model: 'm', timeout_ms: 5000, retries: 2, ...overrides };
  const lines: string[] = [];
  const logger = createLogger({ bus: createEventBus({ history: 1 }), level: 'debug', write: (line) => lines.push(line) });
  const cloud = createCloudRelay({ settings: () => settings, logger, retryDelayMs: () => 1, ...options });
  return { cloud, lines, retries: () => lines.filter((line) => /retry \d+ of/.test(line)) };
}

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<Error> {
  let caught: unknown;
  await promise.catch((error: unknown) => (caught = error));
  assert.ok(caught instanceof Error, `expected a rejection with ${code}`);
  assert.equal((caught as Error & { code?: string }).code, code, caught.message);
  return caught;
}

/** Keeps writing `piece` until the client goes away (or a safety net far above every cap under test). */
async function writeForever(response: ServerResponse, piece: string): Promise<void> {
  for (let sent = 0; !response.destroyed && sent < 256 * 1024 * 1024; sent += piece.length) {
    if (!response.write(piece)) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  response.end();
}

describe('a POST is sent again only when it provably never reached the server', () => {
  for (const status of [500, 502, 504]) {
    test(`HTTP ${status}: exactly one upstream call`, async () => {
      server.handler = (_request, _body, response) => answerJson(response, status, { error: { message: 'upstream trouble' } });
      const { cloud, retries } = relay({ retries: 3 });
      await rejectsWithCode(cloud.infer(cloudPlugin(), 'hi', signal()), 'cloud_error');
      assert.equal(server.seen.length, 1);
      assert.deepEqual(retries(), []);
    });
  }

  test('a timeout before the answer starts: exactly one upstream call', async () => {
    server.handler = () => undefined;
    const { cloud } = relay({ retries: 3, timeout_ms: 300 });
    await rejectsWithCode(cloud.infer(cloudPlugin(), 'hi', signal()), 'cloud_timeout');
    assert.equal(server.seen.length, 1);
  });

  test('a timeout in the middle of a streamed answer: exactly one upstream call', async () => {
    server.handler = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(deltaEvent('partial'));
    };
    const { cloud } = relay({ retries: 3, timeout_ms: 300 });
    await rejectsWithCode(cloud.infer(cloudPlugin(), 'hi', signal(), () => undefined), 'cloud_timeout');
    assert.equal(server.seen.length, 1);
  });

  test('a connection dropped after the request arrived: exactly one upstream call', async () => {
    server.handler = (request) => request.socket.destroy();
    const { cloud } = relay({ retries: 3 });
    await rejectsWithCode(cloud.infer(cloudPlugin(), 'hi', signal()), 'cloud_unreachable');
    assert.equal(server.seen.length, 1);
  });

  test('429 with Retry-After: retried after the time asked, and the retry is logged', async () => {
    let calls = 0;
    const at: number[] = [];
    server.handler = (_request, _body, response) => {
      at.push(Date.now());
      calls += 1;
      if (calls === 1) return answerJson(response, 429, { error: { message: 'slow down' } }, { 'retry-after': '1' });
      return answerJson(response, 200, completion('after waiting'));
    };
    const { cloud, retries } = relay();
    const result = (await cloud.infer(cloudPlugin(), 'hi', signal())) as { text: string };
    assert.equal(result.text, 'after waiting');
    assert.equal(server.seen.length, 2);
    assert.ok((at[1] ?? 0) - (at[0] ?? 0) >= 990, 'the second call waited for Retry-After');
    assert.equal(retries().length, 1);
    assert.match(retries()[0] ?? '', /HTTP 429.*retry 1 of 2 in 1000 ms/);
  });

  test('503 is retried; a Retry-After beyond the longest wait is not waited for', async () => {
    let calls = 0;
    server.handler = (_request, _body, response) => {
      calls += 1;
      if (calls === 1) return answerJson(response, 503, { error: { message: 'warming up' } }, { 'retry-after': '0' });
      return answerJson(response, 200, completion('warm now'));
    };
    assert.equal(((await relay().cloud.infer(cloudPlugin(), 'hi', signal())) as { text: string }).text, 'warm now');
    assert.equal(server.seen.length, 2);

    server.seen.length = 0;
    server.handler = (_request, _body, response) => answerJson(response, 503, { error: { message: 'maintenance' } }, { 'retry-after': '3600' });
    const { cloud, lines } = relay({}, { maxRetryAfterMs: 1000 });
    const error = await rejectsWithCode(cloud.infer(cloudPlugin(), 'hi', signal()), 'cloud_error');
    assert.match(error.message, /maintenance/);
    assert.equal(server.seen.length, 1);
    assert.ok(lines.some((line) => /asks to wait 3600 s/.test(line)), lines.join('\n'));
  });

  test('connection refused: retried (and logged) until the server is up', async () => {
    const late = createServer((_request, response) => answerJson(response, 200, completion('finally up')));
    await new Promise<void>((resolve) => late.listen(0, '127.0.0.1', resolve));
    const port = (late.address() as AddressInfo).port;
    await new Promise<void>((resolve) => late.close(() => resolve()));
    after(() => {
      late.closeAllConnections();
      late.close();
    });
    const settings: CloudRelaySettings = { base_url: `http://127.0.0.1:${port}`, api_key: null, model: 'm', timeout_ms: 5000, retries: 3 };
    const lines: string[] = [];
    let listening: Promise<void> | undefined;
    const logger = createLogger({
      bus: createEventBus({ history: 1 }),
      level: 'debug',
      write: (line) => {
        lines.push(line);
        // The first retry is the cue to bring the server up, while the relay waits its delay.
        listening ??= new Promise((resolve) => late.listen(port, '127.0.0.1', resolve));
      },
    });
    const cloud = createCloudRelay({ settings: () => settings, logger, retryDelayMs: () => 300 });
    const result = (await cloud.infer(cloudPlugin(), 'hi', signal())) as { text: string };
    assert.equal(result.text, 'finally up');
    assert.match(lines[0] ?? '', /ECONNREFUSED.*retry 1 of 3 in 300 ms/);
  });
});

describe('answers are bounded in memory', () => {
  test('a streamed answer past max_answer_chars ends with cloud_response_too_large and closes the upstream', async () => {
    server.handler = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      void writeForever(response, deltaEvent('x'.repeat(1000)));
    };
    const { cloud } = relay({ max_answer_chars: 100_000 });
    let relayed = 0;
    await rejectsWithCode(cloud.infer(cloudPlugin(), 'hi', signal(), (chunk) => (relayed += String(chunk).length)), 'cloud_response_too_large');
    assert.ok(relayed <= 100_000, `relayed ${relayed} characters`);
    assert.equal(await server.seen[0]?.finished, false, 'the upstream answer was cut off, not read to its end');
  });

  test('one SSE line past max_event_chars (never ending) ends the call', async () => {
    server.handler = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: ');
      void writeForever(response, 'y'.repeat(64 * 1024));
    };
    await rejectsWithCode(relay({ max_event_chars: 1024 * 1024 }).cloud.infer(cloudPlugin(), 'hi', signal(), () => undefined), 'cloud_response_too_large');
    assert.equal(await server.seen[0]?.finished, false);
  });

  test('one SSE event of many short data lines past max_event_chars ends the call', async () => {
    server.handler = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      void writeForever(response, 'data: zzzzzzzz\n');
    };
    await rejectsWithCode(relay({ max_event_chars: 64 * 1024 }).cloud.infer(cloudPlugin({ endpoint: 'raw' }), null, signal(), () => undefined), 'cloud_response_too_large');
    assert.equal(await server.seen[0]?.finished, false);
  });

  test('a JSON-lines line past max_event_chars ends the call', async () => {
    server.handler = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      response.write('{"token":"');
      void writeForever(response, 'w'.repeat(64 * 1024));
    };
    await rejectsWithCode(relay({ max_event_chars: 256 * 1024 }).cloud.infer(cloudPlugin({ endpoint: 'raw' }), null, signal(), () => undefined), 'cloud_response_too_large');
    assert.equal(await server.seen[0]?.finished, false);
  });

  test('raw chunks past max_answer_chars end the call', async () => {
    server.handler = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      void writeForever(response, `event: chunk\ndata: ${JSON.stringify({ text: 'v'.repeat(500) })}\n\n`);
    };
    await rejectsWithCode(relay({ max_answer_chars: 50_000 }).cloud.infer(cloudPlugin({ endpoint: 'raw' }), null, signal(), () => undefined), 'cloud_response_too_large');
    assert.equal(await server.seen[0]?.finished, false);
  });

  test('a stream of nothing but keep-alive comments stops at max_response_bytes', async () => {
    server.handler = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      void writeForever(response, ': keep-alive\n');
    };
    await rejectsWithCode(relay({ max_response_bytes: 256 * 1024 }).cloud.infer(cloudPlugin(), 'hi', signal(), () => undefined), 'cloud_response_too_large');
    assert.equal(await server.seen[0]?.finished, false);
  });

  test('a non-streamed answer past max_response_bytes ends the call', async () => {
    server.handler = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"choices":[{"message":{"role":"assistant","content":"');
      void writeForever(response, 'u'.repeat(64 * 1024));
    };
    await rejectsWithCode(relay({ max_response_bytes: 512 * 1024 }).cloud.infer(cloudPlugin(), 'hi', signal()), 'cloud_response_too_large');
    assert.equal(await server.seen[0]?.finished, false);
  });

  test('an error body is read only up to a bound', async () => {
    server.handler = (_request, _body, response) => {
      response.writeHead(400, { 'content-type': 'text/plain' });
      void writeForever(response, 'e'.repeat(64 * 1024));
    };
    const error = await rejectsWithCode(relay().cloud.infer(cloudPlugin(), 'hi', signal()), 'cloud_rejected');
    assert.ok(error.message.length < 2000, `a message of ${error.message.length} characters`);
    assert.equal(await server.seen[0]?.finished, false);
  });
});

describe('per-call output token cap and token usage', () => {
  test('max_tokens is clamped, set when absent, and max_completion_tokens is clamped without adding max_tokens', async () => {
    server.handler = (_request, _body, response) => answerJson(response, 200, completion('ok'));
    const { cloud } = relay();
    await cloud.infer(cloudPlugin(), { prompt: 'a', max_tokens: 100_000 }, signal(), undefined, { maxTokens: 256 });
    await cloud.infer(cloudPlugin(), { prompt: 'b', max_tokens: 10 }, signal(), undefined, { maxTokens: 256 });
    await cloud.infer(cloudPlugin(), 'c', signal(), undefined, { maxTokens: 256 });
    await cloud.infer(cloudPlugin(), { prompt: 'd', max_completion_tokens: 'lots' }, signal(), undefined, { maxTokens: 256 });
    await cloud.infer(cloudPlugin(), { prompt: 'e', max_tokens: 100_000 }, signal());
    const sent = server.seen.map((request) => request.body as Record<string, unknown>);
    assert.equal(sent[0]?.max_tokens, 256);
    assert.equal(sent[1]?.max_tokens, 10);
    assert.equal(sent[2]?.max_tokens, 256);
    assert.equal(sent[3]?.max_completion_tokens, 256);
    assert.equal('max_tokens' in (sent[3] ?? {}), false);
    assert.equal(sent[4]?.max_tokens, 100_000, 'without a cap the payload decides');
  });

  test('token usage is reported for plain and streamed answers', async () => {
    server.handler = (_request, _body, response) => answerJson(response, 200, completion('ok', { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 }));
    const { cloud } = relay();
    const usage: unknown[] = [];
    await cloud.infer(cloudPlugin(), 'hi', signal(), undefined, { onUsage: (value) => usage.push(value) });
    assert.deepEqual(usage, [{ inputTokens: 7, outputTokens: 5, totalTokens: 12 }]);

    server.handler = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(deltaEvent('Hi'));
      response.write(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 1 } })}\n\n`);
      response.end('data: [DONE]\n\n');
    };
    usage.length = 0;
    await cloud.infer(cloudPlugin(), 'hi', signal(), () => undefined, { onUsage: (value) => usage.push(value) });
    assert.deepEqual(usage, [{ inputTokens: 3, outputTokens: 1, totalTokens: 4 }]);
    assert.deepEqual((server.seen.at(-1)?.body as { stream_options?: unknown }).stream_options, { include_usage: true });
  });
});
