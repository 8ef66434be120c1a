import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import type { ApiEnv } from '../api/api-env.js';
import { ApiError, parseJsonBody } from '../api/api-error.js';
import { orderedEvents, type SendEvent } from '../api/ordered-events.js';
import { pageErrorBody } from '../api/page-errors.js';
import type { Logger } from '../events/logger.js';
import { VERB_OF, webAiApiSchema, webAiCallSchema, type WebAiApi } from './webai-apis.js';
import { domExceptionName, InputQuotaError, webAiPageMessage } from './webai-errors.js';
import type { WebAiService } from './webai-service.js';

const optionsBody = z.strictObject({ options: z.unknown().optional() });


/** `{error: {code, name, message}}`: `name` is the DOMException the page throws. Pages get the generic message. */
function errorPayload(error: unknown, page: boolean) {
  const code = error instanceof ApiError ? error.code : 'internal_error';
  const message = page ? (webAiPageMessage(code) ?? pageErrorBody(error).error.message) : error instanceof ApiError ? error.message : 'The gateway hit an unexpected error; see its log';
  const quota = error instanceof InputQuotaError ? { requested: error.requested, quota: error.quota } : {};
  return { error: { code, name: domExceptionName(code), message, ...quota } };
}

function apiOf(c: Context<ApiEnv>): WebAiApi {
  const parsed = webAiApiSchema.safeParse(c.req.param('api'));
  if (!parsed.success) throw new ApiError(404, 'not_found', `No Web AI API "${c.req.param('api')}"`);
  return parsed.data;
}

/**
 * Answers as server-sent events: what `work` sends, then an `error` event if it throws. The work
 * is cancelled when the client goes away (a page's `AbortSignal` closes its fetch).
 */
function sse(c: Context<ApiEnv>, logger: Logger, work: (send: SendEvent, signal: AbortSignal) => Promise<void>): Response {
  const page = c.get('caller').kind === 'page';
  return orderedEvents(c, work, async (error, send) => {
    logger.warn(`Web AI ${c.req.path} failed: ${error instanceof ApiError ? `${error.code}: ${error.message}` : ((error as Error).stack ?? String(error))}`);
    await send('error', errorPayload(error, page));
  });
}

/**
 * `/api/webai/…`: the browser's built-in AI APIs for pages (through the bridge, with the Web AI
 * grant) and direct callers (the token): availability, create (SSE progress), measure, the API's
 * verb (JSON, or SSE with `stream: true`), and a status view. The contract is docs/WEBAI.md.
 * Mount at `/api/webai`.
 */
export function webAiRoutes(service: WebAiService, logger: Logger) {
  const app = new Hono<ApiEnv>();
  app.onError((error, c) => {
    const page = c.get('caller')?.kind === 'page';
    if (!(error instanceof ApiError)) logger.error(`Web AI ${c.req.method} ${c.req.path}: ${(error as Error).stack ?? String(error)}`);
    else if (page) logger.warn(`Web AI page call ${c.req.path} failed: ${error.code}: ${error.message}`);
    return c.json(errorPayload(error, page), error instanceof ApiError ? error.status : 500);
  });

  app.get('/status', async (c) => c.json(await service.status()));

  app.post('/:api/availability', async (c) => {
    const api = apiOf(c);
    const body = await parseJsonBody(c, optionsBody);
    return c.json({ availability: await service.availability(api, body.options, c.get('caller')) });
  });

  app.post('/:api/create', async (c) => {
    const api = apiOf(c);
    const body = await parseJsonBody(c, optionsBody);
    return sse(c, logger, async (send, signal) => {
      let last = -1;
      const ready = await service.create(api, body.options, c.get('caller'), signal, (loaded) => {
        // Only forward steps a progress bar can show; every create sends 0 and 1.
        const rounded = Math.round(loaded * 1000) / 1000;
        if (rounded === last) return;
        last = rounded;
        void send('progress', { loaded: rounded });
      });
      await send('ready', ready);
    });
  });

  app.post('/:api/measure', async (c) => {
    const api = apiOf(c);
    const body = await parseJsonBody(c, webAiCallSchema);
    return c.json(await service.measure(api, body, c.get('caller'), c.req.raw.signal));
  });

  app.post('/:api/:verb', async (c) => {
    const api = apiOf(c);
    if (c.req.param('verb') !== VERB_OF[api]) throw new ApiError(404, 'not_found', `${api} answers "${VERB_OF[api]}", not "${c.req.param('verb')}"`);
    const body = await parseJsonBody(c, webAiCallSchema);
    const caller = c.get('caller');
    if (api === 'language-detector') return c.json(await service.detect(body, caller, c.req.raw.signal));
    if (!body.stream) return c.json(await service.run(api, body, caller, c.req.raw.signal));
    return sse(c, logger, async (send, signal) => {
      const outcome = await service.run(api, body, caller, signal, (text) => void send('chunk', { text }));
      await send('result', outcome);
    });
  });
  return app;
}
