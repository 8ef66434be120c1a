import { Hono, type Env } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { BlankEnv } from 'hono/types';
import { z } from 'zod';
import { pluginIdSchema } from '../plugins/manifest-schema.js';
import type { PluginRecord } from '../plugins/plugin-registry.js';
import type { ModelProvisioner, PluginWithModels } from './model-provisioner.js';

/** The registry methods the routes read; any `PluginRegistry` fits. */
export interface ModelsRouteRegistry {
  list(): PluginRecord[];
  get(id: string): PluginRecord | undefined;
}

const pullBodySchema = z.strictObject({
  /** A plugin, `all`, or a built-in (`webai:llm`, `webai:language-detector`). */
  plugin: z.union([z.literal('all'), pluginIdSchema, z.string().regex(/^webai:[a-z-]{1,32}$/)]),
});

/**
 * An `HTTPException` whose response already is the API's error body, so it renders the same
 * under this sub-app's handler, the gateway's, or Hono's default.
 */
export function modelsApiError(status: ContentfulStatusCode, code: string, message: string): HTTPException {
  const res = new Response(JSON.stringify({ error: { code, message } }), { status, headers: { 'content-type': 'application/json' } });
  return new HTTPException(status, { res, message });
}

const enabled = (record: PluginRecord | undefined): record is Extract<PluginRecord, { status: 'enabled' }> => record?.status === 'enabled';

/**
 * `GET /` lists every declared model with its state; `POST /pull` with `{"plugin": "<id>"|"all"}`
 * starts provisioning in the background and answers 202 at once — progress then arrives as
 * `model-progress` events on `GET /api/events`. Mount at `/api/models`.
 *
 * @example
 *   app.route('/api/models', modelsRoutes<ApiEnv>(provisioner, registry));
 */
export function modelsRoutes<E extends Env = BlankEnv>(provisioner: ModelProvisioner, registry: ModelsRouteRegistry): Hono<E> {
  const app = new Hono<E>();
  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    // Anything else is the gateway's to log and hide: let its handler see it.
    throw error;
  });

  const plugins = (): PluginWithModels[] => registry.list().filter(enabled);

  app.get('/', async (c) => {
    const models = await provisioner.list(plugins());
    return c.json({ models, offline: provisioner.offline, modelsDir: provisioner.modelsDir });
  });

  app.post('/pull', async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw modelsApiError(400, 'invalid_json', 'The request body is not valid JSON');
    }
    const parsed = pullBodySchema.safeParse(body);
    if (!parsed.success) {
      const details = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ');
      throw modelsApiError(400, 'invalid_body', `${details} (expected {"plugin": "<plugin id>" | "all"})`);
    }
    let targets: PluginWithModels[];
    if (parsed.data.plugin === 'all') {
      targets = plugins().filter((plugin) => (plugin.manifest.inference?.models.length ?? 0) > 0);
    } else {
      const record = registry.get(parsed.data.plugin);
      if (!record) throw modelsApiError(404, 'plugin_not_found', `No plugin "${parsed.data.plugin}"`);
      if (!enabled(record)) throw modelsApiError(409, 'plugin_broken', `Plugin "${record.id}" failed to load: ${record.errors.join('; ')}`);
      targets = [record];
    }
    // Fire and forget: `pull` never rejects, and each outcome is logged and emitted as an event.
    void provisioner.pull(targets);
    return c.json(
      {
        pulling: targets.map((plugin) => ({ plugin: plugin.id, models: (plugin.manifest.inference?.models ?? []).map((model) => model.filename) })),
      },
      202,
    );
  });

  return app;
}
