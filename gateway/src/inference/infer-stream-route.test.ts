import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Hono } from 'hono';
import { ApiError } from '../api/api-error.js';
import type { ApiEnv } from '../api/api-env.js';
import { inferStreamRoutes } from './infer-stream-route.js';
import type { InferenceRouter } from './inference-router.js';
import { createSseParser } from './sse-parser.js';

const router: InferenceRouter = {
  async infer(pluginId, request) {
    if (pluginId === 'missing') throw new ApiError(404, 'plugin_not_found', 'No plugin "missing" is installed');
    request.onChunk?.({ part: 1 });
    request.onChunk?.({ part: 2 });
    request.onMode?.('local');
    return { done: request.payload };
  },
};

async function events(id: string, body: unknown) {
  const app = new Hono<ApiEnv>().route('/api/plugins', inferStreamRoutes(router));
  const response = await app.request(`/api/plugins/${id}/infer/stream`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
  const parser = createSseParser();
  return [...parser.push(await response.text()), ...parser.end()].map((event) => ({ event: event.event, data: JSON.parse(event.data) as unknown }));
}

test('streams chunk events then the result', async () => {
  assert.deepEqual(await events('echo', { payload: 'x' }), [
    { event: 'chunk', data: { part: 1 } },
    { event: 'chunk', data: { part: 2 } },
    { event: 'result', data: { result: { done: 'x' }, mode: 'local' } },
  ]);
});

test('failures arrive as an error event with the API error body', async () => {
  assert.deepEqual(await events('missing', { payload: null }), [{ event: 'error', data: { error: { code: 'plugin_not_found', message: 'No plugin "missing" is installed', status: 404 } } }]);
});
