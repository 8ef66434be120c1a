/**
 * Findings of the black-box audit of the cloud relay, attack first: each test reproduces what the
 * auditor did against a real loopback server standing for the cloud server, and failed before
 * its fix. Redirects (a second server must receive nothing), the key echoed back in error
 * messages, and a server that trickles bytes to keep a call open for ever.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Hono } from 'hono';
import type { ApiEnv } from '../api/api-env.js';
import { createCloudRelay, type CloudRelaySettings } from './cloud-relay.js';
import { inferStreamRoutes } from './infer-stream-route.js';
import type { InferenceRouter } from './inference-router.js';
import { createSseParser } from './sse-parser.js';
import { answerJson, cloudPlugin, completion, deltaEvent, startCloudTestServer, type CloudTestServer } from './testing/cloud-test-server.js';

const KEY = 'sk-audit-key-0123456789abcdefghij';

let cloud: CloudTestServer;
/** Where a redirect points: it stands for any host the user never configured, or the gateway's own API. */
let elsewhere: CloudTestServer;

before(async () => {
  cloud = await startCloudTestServer();
  elsewhere = await startCloudTestServer();
  elsewhere.handler = (_request, _body, response) => answerJson(response, 200, { status: 'ok', secret: 'the gateway API answered' });
});
after(async () => {
  await cloud.close();
  await elsewhere.close();
});
beforeEach(() => {
  cloud.seen.length = 0;
  elsewhere.seen.length = 0;
});

function relay(overrides: Partial<CloudRelaySettings> = {}) {
  const settings: CloudRelaySettings = { base_url: cloud.baseUrl, api_key: KEY, model: 'm', timeout_ms: 5000, retries: 2, ...overrides };
  return createCloudRelay({ settings: () => settings, retryDelayMs: () => 1 });
}

const signal = () => new AbortController().signal;

async function failure(promise: Promise<unknown>): Promise<Error & { code: string; status: number }> {
  let caught: unknown;
  await promise.then(
    (value) => assert.fail(`expected a failure, got ${JSON.stringify(value)}`),
    (error: unknown) => (caught = error),
  );
  assert.ok(caught instanceof Error);
  return caught as Error & { code: string; status: number };
}

/** No spelling of the key, nor a start of it (8 characters is already too much of a key). */
function assertNoKey(message: string): void {
  assert.doesNotMatch(message, new RegExp(KEY.slice(0, 8)), message);
  assert.doesNotMatch(message, /Bearer/i, message);
}

/** The request's Authorization header, echoed the way debug servers and some proxies do. */
const echoedAuthorization = (request: { headers: { authorization?: string | undefined } }) => request.headers.authorization ?? '(none)';

describe('redirects from the cloud server are not followed', () => {
  for (const status of [301, 302, 303, 307, 308]) {
    test(`a ${status} to another local server: that server receives nothing`, async () => {
      cloud.handler = (_request, _body, response) => {
        response.writeHead(status, { location: `${elsewhere.baseUrl}/api/health?token=x` });
        response.end();
      };
      for (const endpoint of ['chat', 'raw'] as const) {
        const error = await failure(relay().infer(cloudPlugin({ endpoint }), { prompt: 'private prompt' }, signal()));
        assert.equal(elsewhere.seen.length, 0, `${endpoint}: the redirect target was reached`);
        assert.equal(error.code, 'cloud_bad_response');
        assert.equal(error.status, 502);
        assert.match(error.message, new RegExp(`answered ${status}\\b.* to ${elsewhere.baseUrl.replace(/[.]/g, '\\.')}; redirects are not followed`));
        // The target's origin at most: its path and query may carry anything.
        assert.doesNotMatch(error.message, /api\/health|token=x/);
      }
      assert.equal(cloud.seen.length, 2, 'one request per call, no retry of a redirect');
    });
  }

  test('a same-origin redirect is not followed either (it would turn the POST into a GET of another path)', async () => {
    cloud.handler = (request, _body, response) => {
      if (request.url === '/moved') return answerJson(response, 200, completion('followed'));
      response.writeHead(302, { location: '/moved' });
      response.end();
    };
    const error = await failure(relay().infer(cloudPlugin(), 'hi', signal()));
    assert.equal(error.code, 'cloud_bad_response');
    assert.deepEqual(
      cloud.seen.map((seen) => seen.url),
      ['/v1/chat/completions'],
    );
  });
});

describe('the key never appears in an error built from what the server sent', () => {
  test('a 200 whose body is not JSON (cloud_bad_response)', async () => {
    cloud.handler = (request, _body, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end(`debug echo: Authorization: ${echoedAuthorization(request)}`);
    };
    const error = await failure(relay().infer(cloudPlugin(), 'hi', signal()));
    assert.equal(error.code, 'cloud_bad_response');
    assert.match(error.message, /debug echo: Authorization: \[redacted\]/);
    assertNoKey(error.message);
  });

  test('a 200 that is JSON but not a chat completion (its excerpt, JSON-escaped)', async () => {
    cloud.handler = (request, _body, response) => answerJson(response, 200, { headers: { authorization: echoedAuthorization(request) } });
    const error = await failure(relay().infer(cloudPlugin(), 'hi', signal()));
    assert.equal(error.code, 'cloud_bad_response');
    assertNoKey(error.message);
  });

  test('an error body cut short in the middle of the key leaves no start of it', async () => {
    // The relay keeps 500 characters of a server's words: put the cut inside the echoed key.
    for (const pad of [470, 480, 488]) {
      cloud.handler = (request, _body, response) => answerJson(response, 400, { error: { message: `${'x'.repeat(pad)} ${echoedAuthorization(request)}` } });
      const error = await failure(relay().infer(cloudPlugin(), 'hi', signal()));
      assert.equal(error.code, 'cloud_rejected');
      assert.match(error.message, /x \[redacted\]…$/);
      assertNoKey(error.message);
    }
  });

  const midStreamError = (request: { headers: { authorization?: string | undefined } }, _body: string, response: ServerResponse) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write(deltaEvent('Hel'));
    response.end(`data: ${JSON.stringify({ error: { message: `upstream failed for request with Authorization: ${echoedAuthorization(request)}` } })}\n\n`);
  };

  test('a chat error mid-stream, for a plain call (cloud_error)', async () => {
    cloud.handler = midStreamError;
    const error = await failure(relay().infer(cloudPlugin(), 'hi', signal()));
    assert.equal(error.code, 'cloud_error');
    assert.match(error.message, /Authorization: \[redacted\]/);
    assertNoKey(error.message);
  });

  test('a chat error mid-stream, through the SSE route (the error event a caller reads)', async () => {
    cloud.handler = midStreamError;
    const cloudRelay = relay();
    const router: InferenceRouter = { infer: (_pluginId, request) => cloudRelay.infer(cloudPlugin(), request.payload, request.signal ?? signal(), request.onChunk) };
    const app = new Hono<ApiEnv>().route('/api/plugins', inferStreamRoutes(router));
    const response = await app.request('/api/plugins/summarize/infer/stream', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payload: 'hi' }) });
    const parser = createSseParser();
    const events = [...parser.push(await response.text()), ...parser.end()];
    assert.deepEqual(
      events.map((event) => event.event),
      ['chunk', 'error'],
    );
    const { error } = JSON.parse(events[1]!.data) as { error: { code: string; message: string } };
    assert.equal(error.code, 'cloud_error');
    assertNoKey(error.message);
  });

  test('a raw endpoint `event: error`', async () => {
    cloud.handler = (request, _body, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.end(`event: error\ndata: ${JSON.stringify({ error: { message: `denied: ${echoedAuthorization(request)}` } })}\n\n`);
    };
    const error = await failure(relay().infer(cloudPlugin({ endpoint: 'raw' }), null, signal(), () => undefined));
    assert.equal(error.code, 'cloud_error');
    assert.match(error.message, /denied: \[redacted\]/);
    assertNoKey(error.message);
  });
});

describe('a whole call has a deadline (cloud.total_timeout_ms)', () => {
  /**
   * One small piece every 20 ms, well inside the 5 s silence limit, until the client goes away (or
   * a safety net of 500 pieces, so a relay without a deadline fails the test instead of hanging it).
   */
  async function trickle(response: ServerResponse, first: string, piece: string): Promise<void> {
    response.write(first);
    for (let sent = 0; !response.destroyed && sent < 500; sent += 1) {
      response.write(piece);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    response.end();
  }

  test('a stream that never ends ends with cloud_timeout, and the upstream request is closed', async () => {
    cloud.handler = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      return trickle(response, deltaEvent('a'), ':\n');
    };
    const chunks: unknown[] = [];
    const error = await failure(relay({ total_timeout_ms: 300 }).infer(cloudPlugin(), 'hi', signal(), (chunk) => chunks.push(chunk)));
    assert.equal(error.code, 'cloud_timeout');
    assert.equal(error.status, 504);
    assert.match(error.message, /total limit of 300 ms \(cloud\.total_timeout_ms\)/);
    assert.deepEqual(chunks, ['a']);
    assert.equal(await cloud.seen[0]?.finished, false, 'the upstream answer was read to its end instead of closed');
  });

  test('a plain answer trickled a byte at a time is held to it too', async () => {
    cloud.handler = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      return trickle(response, '{"choices":[{"message":{"content":"', 'x');
    };
    const error = await failure(relay({ total_timeout_ms: 300 }).infer(cloudPlugin(), 'hi', signal()));
    assert.equal(error.code, 'cloud_timeout');
    assert.match(error.message, /total limit/);
    assert.equal(await cloud.seen[0]?.finished, false);
  });

  test("the caller's own cancel is still `cancelled`, and a call within the deadline is untouched", async () => {
    cloud.handler = (_request, _body, response) => answerJson(response, 200, completion('in time'));
    assert.equal(((await relay({ total_timeout_ms: 60_000 }).infer(cloudPlugin(), 'hi', signal())) as { text: string }).text, 'in time');
    cloud.handler = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      return trickle(response, deltaEvent('a'), ':\n');
    };
    const controller = new AbortController();
    const error = await failure(relay({ total_timeout_ms: 60_000 }).infer(cloudPlugin(), 'hi', controller.signal, () => controller.abort()));
    assert.equal(error.code, 'cancelled');
  });
});
