import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import { ApiError, parseJsonBody } from '../api/api-error.js';
import type { ApiEnv } from '../api/api-env.js';
import { orderedEvents } from '../api/ordered-events.js';
import type { InferenceRouter } from './inference-router.js';

export const streamInferBodySchema = z.object({
  payload: z.unknown(),
  mode: z.enum(['local', 'cloud']).optional(),
  fallback: z.boolean().optional(),
});
export type StreamInferBody = z.infer<typeof streamInferBodySchema>;

/**
 * Answers one plugin call as `text/event-stream`: `chunk` events with each partial result as it is
 * produced, then one `result` event (`{"result", "mode"}`) or one `error` event
 * (`{"error":{"code","message"}}`). The call is cancelled when the client disconnects.
 *
 * @example
 *   // in a route: return streamInference(c, router, c.req.param('id'), body);
 */
export function streamInference(c: Context<ApiEnv>, router: InferenceRouter, pluginId: string, body: StreamInferBody): Response {
  return orderedEvents(
    c,
    async (send, signal) => {
      let served: string | undefined;
      const result = await router.infer(pluginId, {
        payload: body.payload,
        mode: body.mode,
        fallback: body.fallback,
        signal,
        caller: c.get('caller'),
        onChunk: (chunk) => void send('chunk', chunk ?? null),
        onMode: (mode) => {
          served = mode;
        },
      });
      await send('result', { result: result ?? null, mode: served });
    },
    async (error, send) => {
      const code = error instanceof ApiError ? error.code : 'internal_error';
      const message = error instanceof ApiError ? error.message : 'The gateway hit an unexpected error; see its log';
      await send('error', { error: { code, message, ...(error instanceof ApiError ? { status: error.status } : {}) } });
    },
  );
}

/**
 * `POST /api/plugins/:id/infer/stream` — the SSE variant of infer for direct (token) callers;
 * pages stream over the WebSocket instead, because the page bridge buffers responses.
 * Mounted by the composition root at `/api/plugins`.
 */
export function inferStreamRoutes(router: InferenceRouter) {
  return new Hono<ApiEnv>().post('/:id/infer/stream', async (c) => {
    const body = await parseJsonBody(c, streamInferBodySchema);
    return streamInference(c, router, c.req.param('id'), body);
  });
}
