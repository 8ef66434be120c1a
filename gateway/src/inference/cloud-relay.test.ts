import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { loadConfig } from '../config/load-config.js';
import { createCloudRelay, type CloudRelaySettings } from './cloud-relay.js';
import { answerJson as json, cloudPlugin as plugin, completion, startCloudTestServer, type CloudTestServer, type SeenRequest } from './testing/cloud-test-server.js';

let server: CloudTestServer;
let baseUrl: string;
let seen: SeenRequest[];

before(async () => {
  server = await startCloudTestServer();
  baseUrl = server.baseUrl;
  seen = server.seen;
});
after(() => server.close());
beforeEach(() => {
  seen.length = 0;
});

function relay(overrides: Partial<CloudRelaySettings> = {}) {
  const settings: CloudRelaySettings = { base_url: baseUrl, api_key: 'sk-test-key-123', model: 'config-model', timeout_ms: 5000, retries: 2, ...overrides };
  return createCloudRelay({ settings: () => settings, retryDelayMs: () => 1 });
}

const signal = () => new AbortController().signal;

describe('OpenAI-compatible chat', () => {
  test('sends the model, the system prompt and the key, and returns the text', async () => {
    server.handler = (_request, _body, response) => json(response, 200, completion('Short summary.'));
    const result = await relay().infer(plugin({ endpoint: 'chat', model: 'manifest-model', system_prompt: 'Be brief.' }), { text: 'A long article', temperature: 0.2, model: 'ignored' }, signal());
    assert.deepEqual(result, { text: 'Short summary.', message: { role: 'assistant', content: 'Short summary.' }, finish_reason: 'stop', model: 'served-model', usage: { total_tokens: 3 } });
    assert.equal(seen[0]?.url, '/v1/chat/completions');
    assert.equal(seen[0]?.authorization, 'Bearer sk-test-key-123');
    assert.deepEqual(seen[0]?.body, {
      model: 'manifest-model',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'A long article' },
      ],
      temperature: 0.2,
      stream: false,
    });
  });

  test('uses config.cloud.model when the manifest names none, and accepts a base URL ending in /v1', async () => {
    server.handler = (_request, _body, response) => json(response, 200, completion('ok'));
    await relay({ base_url: `${baseUrl}/v1/` }).infer(plugin(), 'hello', signal());
    assert.equal(seen[0]?.url, '/v1/chat/completions');
    assert.deepEqual(seen[0]?.body, { model: 'config-model', messages: [{ role: 'user', content: 'hello' }], stream: false });
  });

  test('gives up after the retries and passes the error body back readably', async () => {
    server.handler = (_request, _body, response) => json(response, 429, { error: { message: 'Rate limit reached for requests' } }, { 'retry-after': '0' });
    await assert.rejects(relay({ retries: 1 }).infer(plugin(), 'hi', signal()), (error: Error & { code: string; status: number }) => {
      assert.equal(error.code, 'cloud_rate_limited');
      assert.equal(error.status, 429);
      assert.match(error.message, /answered 429 .*Rate limit reached for requests/);
      return true;
    });
    assert.equal(seen.length, 2);
  });

  test('a rejected key is reported without retrying and without echoing the key', async () => {
    server.handler = (_request, _body, response) => json(response, 401, { error: { message: 'Incorrect API key provided: sk-test-key-123' } });
    await assert.rejects(relay().infer(plugin(), 'hi', signal()), (error: Error & { code: string }) => {
      assert.equal(error.code, 'cloud_unauthorized');
      assert.match(error.message, /Incorrect API key provided: \[redacted\]/);
      assert.doesNotMatch(error.message, /sk-test-key-123/);
      return true;
    });
    assert.equal(seen.length, 1);
  });

  test('a plain-text error body is passed back too', async () => {
    server.handler = (_request, _body, response) => {
      response.writeHead(400, { 'content-type': 'text/plain' });
      response.end('model "nope" not found, try pulling it first');
    };
    await assert.rejects(relay().infer(plugin(), 'hi', signal()), /answered 400 .*model "nope" not found, try pulling it first/);
  });

  test('streams deltas to the caller as they arrive', async () => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    server.handler = async (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const event = (content: string | null, finish: string | null = null) => `data: ${JSON.stringify({ model: 'm', choices: [{ delta: content === null ? { role: 'assistant' } : { content }, finish_reason: finish }] })}\n\n`;
      response.write(event(null));
      response.write(event('Hel'));
      // The rest only comes once the caller has seen the first delta: proof it was relayed live.
      await released;
      response.write(event('lo'));
      response.write(event(null, 'stop'));
      response.end('data: [DONE]\n\n');
    };
    const chunks: unknown[] = [];
    const result = await relay().infer(plugin(), 'hi', signal(), (chunk) => {
      chunks.push(chunk);
      release();
    });
    assert.deepEqual(chunks, ['Hel', 'lo']);
    assert.deepEqual(result, { text: 'Hello', message: { role: 'assistant', content: 'Hello' }, finish_reason: 'stop', model: 'm', usage: null });
    assert.equal((seen[0]?.body as { stream: boolean }).stream, true);
    assert.match(seen[0]?.accept ?? '', /text\/event-stream/);
  });

  test('a stream that stalls is a timeout, and cancelling stops it', async () => {
    server.handler = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(`data: ${JSON.stringify({ choices: [{ delta: { content: 'partial' } }] })}\n\n`);
      // …and then nothing more.
    };
    await assert.rejects(relay({ timeout_ms: 200 }).infer(plugin(), 'hi', signal(), () => undefined), (error: Error & { code: string }) => error.code === 'cloud_timeout');
    const controller = new AbortController();
    await assert.rejects(
      relay().infer(plugin(), 'hi', controller.signal, () => controller.abort()),
      (error: Error & { code: string }) => error.code === 'cancelled',
    );
  });
});

test('embeddings map to /v1/embeddings and come back in input order', async () => {
  server.handler = (_request, _body, response) =>
    json(response, 200, {
      model: 'embedder',
      data: [
        { embedding: [0.3, 0.4], index: 1 },
        { embedding: [0.1, 0.2], index: 0 },
      ],
    });
  const result = await relay().infer(plugin({ endpoint: 'embeddings', model: 'nomic' }), ['a', 'b'], signal());
  assert.deepEqual(seen[0]?.body, { model: 'nomic', input: ['a', 'b'] });
  assert.equal(seen[0]?.url, '/v1/embeddings');
  assert.deepEqual(result, { embeddings: [[0.1, 0.2], [0.3, 0.4]], model: 'embedder', usage: null });
});

describe('raw endpoint (the AiPlugs contract on a remote gateway or cluster)', () => {
  test('posts {payload} to /api/plugins/:id/infer and unwraps {result}', async () => {
    server.handler = (_request, _body, response) => json(response, 200, { result: { answer: 42 } });
    assert.deepEqual(await relay().infer(plugin({ endpoint: 'raw' }), { q: 'life' }, signal()), { answer: 42 });
    assert.equal(seen[0]?.url, '/api/plugins/summarize/infer');
    assert.deepEqual(seen[0]?.body, { payload: { q: 'life' } });
  });

  test('relays chunk events and takes the result event', async () => {
    server.handler = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.end('event: chunk\ndata: {"step":1}\n\nevent: chunk\ndata: {"step":2}\n\nevent: result\ndata: {"result":"done"}\n\n');
    };
    const chunks: unknown[] = [];
    assert.equal(await relay().infer(plugin({ endpoint: 'raw' }), null, signal(), (chunk) => chunks.push(chunk)), 'done');
    assert.deepEqual(chunks, [{ step: 1 }, { step: 2 }]);
  });

  test('relays JSON-lines (chunked) answers line by line', async () => {
    server.handler = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      response.write('{"token":"a"}\n{"tok');
      response.end('en":"b"}\n');
    };
    const chunks: unknown[] = [];
    const result = await relay().infer(plugin({ endpoint: 'raw' }), null, signal(), (chunk) => chunks.push(chunk));
    assert.deepEqual(chunks, [{ token: 'a' }, { token: 'b' }]);
    assert.deepEqual(result, chunks);
  });
});

test('CLOUD_BASE_URL and SYSTEM_API_KEY beat config files (seed precedence)', async () => {
  server.handler = (_request, _body, response) => json(response, 200, completion('from env'));
  const dir = await mkdtemp(join(tmpdir(), 'aiplugs-cloud-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const userFile = join(dir, 'config.json');
  await writeFile(userFile, JSON.stringify({ cloud: { base_url: 'http://127.0.0.1:9/', api_key: 'sk-from-file' } }));
  const config = await loadConfig({ userFile, env: { CLOUD_BASE_URL: baseUrl, SYSTEM_API_KEY: 'sk-from-env' } });
  const cloud = createCloudRelay({ settings: () => config.cloud, retryDelayMs: () => 1 });
  assert.equal(((await cloud.infer(plugin(), 'hi', signal())) as { text: string }).text, 'from env');
  assert.equal(seen[0]?.authorization, 'Bearer sk-from-env');
});

test('unconfigured, unreachable and silent servers each fail with their own code', async () => {
  await assert.rejects(relay({ base_url: null }).infer(plugin(), 'hi', signal()), (error: Error & { code: string; status: number }) => error.code === 'cloud_not_configured' && error.status === 501);
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  await assert.rejects(relay({ base_url: deadUrl, retries: 1 }).infer(plugin(), 'hi', signal()), (error: Error & { code: string }) => {
    assert.equal(error.code, 'cloud_unreachable');
    assert.match(error.message, /ECONNREFUSED/);
    return true;
  });
  server.handler = () => undefined; // never answers
  await assert.rejects(relay({ timeout_ms: 200, retries: 0 }).infer(plugin(), 'hi', signal()), (error: Error & { code: string }) => error.code === 'cloud_timeout');
});
