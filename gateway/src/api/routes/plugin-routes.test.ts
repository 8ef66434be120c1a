import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import type { InferRequest, InferenceRouter } from '../../inference/inference-router.js';
import type { PluginRegistry } from '../../plugins/plugin-registry.js';
import { toErrorResponse } from '../api-error.js';
import type { ApiEnv } from '../api-env.js';
import type { PluginFileReader } from './plugin-files.js';
import { pluginRoutes } from './plugin-routes.js';

describe('POST /api/plugins/:id/infer', () => {
  const seen: InferRequest[] = [];
  const router: InferenceRouter = {
    async infer(_pluginId, request) {
      seen.push(request);
      return 'answer';
    },
  };
  const app = new Hono<ApiEnv>()
    .use(async (c, next) => {
      c.set('caller', { kind: 'user' });
      await next();
    })
    .route('/api/plugins', pluginRoutes({} as PluginRegistry, router, {} as PluginFileReader));
  app.onError((error, c) => toErrorResponse(error, c, () => undefined));
  const infer = (body: unknown) => app.request('/api/plugins/p/infer', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it("hands the caller's fallback choice to the router, as the SSE and WebSocket routes do (it was dropped: a local-only call fell back to the cloud)", async () => {
    assert.equal((await infer({ payload: 'private', mode: 'local', fallback: false })).status, 200);
    assert.equal(seen.at(-1)?.fallback, false);
    await infer({ payload: 'x', fallback: true });
    assert.equal(seen.at(-1)?.fallback, true);
    await infer({ payload: 'x' });
    assert.equal(seen.at(-1)?.fallback, undefined, 'unset: the configured policy applies');
  });

  it('refuses a fallback that is not a boolean', async () => {
    const response = await infer({ payload: 'x', fallback: 'yes' });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'invalid_body');
  });
});
