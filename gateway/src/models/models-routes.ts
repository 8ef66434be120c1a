import { Hono, type Env } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { BlankEnv } from 'hono/types';
import { z } from 'zod';
import { parseBoundedJson } from '../api/bounded-json.js';
import type { EventBus } from '../events/event-bus.js';
import { pluginIdSchema } from '../plugins/manifest-schema.js';
import type { PluginRecord } from '../plugins/plugin-registry.js';
import type { VerifyResult } from './model-inventory.js';
import type { ModelProvisioner, PluginWithModels } from './model-provisioner.js';
import type { ModelProgress } from './progress-meter.js';

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

/** What a verification found, as the dashboard shows it next to the model. */
const VERIFY_FAILURES: Record<Exclude<VerifyResult['state'], 'ready' | 'unpinned'>, string> = {
  missing: 'Not downloaded yet: nothing to verify',
  corrupt: 'The file does not match its declared SHA-256: download it again',
  conflict: 'Plugins declare different SHA-256 hashes for this file: fix their manifests',
};

/** The `model-progress` event that closes a verification (the running ones come from `onProgress`). */
export function verifyOutcomeEvent(result: VerifyResult, size: number | null) {
  const done = result.state === 'ready' || result.state === 'unpinned';
  return {
    type: 'model-progress' as const,
    plugin: result.plugins[0] ?? '',
    filename: result.filename,
    receivedBytes: done ? (size ?? 0) : 0,
    totalBytes: size,
    bytesPerSecond: 0,
    state: done ? ('ready' as const) : ('failed' as const),
    ...(done ? {} : { error: VERIFY_FAILURES[result.state as keyof typeof VERIFY_FAILURES] }),
  };
}

/**
 * `GET /` lists every declared model with its state; `POST /pull` with `{"plugin": "<id>"|"all"}`
 * starts provisioning in the background and answers 202 at once — progress then arrives as
 * `model-progress` events on `GET /api/events`. `POST /verify` (same body) re-hashes the
 * plugins' present models in the background, reporting on `bus` the same way. Mount at `/api/models`.
 *
 * @example
 *   app.route('/api/models', modelsRoutes<ApiEnv>(provisioner, registry, bus));
 */
export function modelsRoutes<E extends Env = BlankEnv>(provisioner: ModelProvisioner, registry: ModelsRouteRegistry, bus?: Pick<EventBus, 'emit'>): Hono<E> {
  const app = new Hono<E>();
  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    // Anything else is the gateway's to log and hide: let its handler see it.
    throw error;
  });

  const plugins = (): PluginWithModels[] => registry.list().filter(enabled);

  /** The plugins a pull or verify body names, refusing an unknown or broken one. */
  const targetsOf = async (c: { req: { text(): Promise<string> } }): Promise<PluginWithModels[]> => {
    const body = parseBoundedJson(await c.req.text());
    if (!body.ok) throw modelsApiError(400, 'invalid_json', 'The request body is not valid JSON');
    const parsed = pullBodySchema.safeParse(body.value);
    if (!parsed.success) {
      const details = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ');
      throw modelsApiError(400, 'invalid_body', `${details} (expected {"plugin": "<plugin id>" | "all"})`);
    }
    if (parsed.data.plugin === 'all') return plugins().filter((plugin) => (plugin.manifest.inference?.models.length ?? 0) > 0);
    const record = registry.get(parsed.data.plugin);
    if (!record) throw modelsApiError(404, 'plugin_not_found', `No plugin "${parsed.data.plugin}"`);
    if (!enabled(record)) throw modelsApiError(409, 'plugin_broken', `Plugin "${record.id}" failed to load: ${record.errors.join('; ')}`);
    return [record];
  };
  const describeTargets = (targets: PluginWithModels[]) => targets.map((plugin) => ({ plugin: plugin.id, models: (plugin.manifest.inference?.models ?? []).map((model) => model.filename) }));

  app.get('/', async (c) => {
    const models = await provisioner.list(plugins());
    return c.json({ models, offline: provisioner.offline, modelsDir: provisioner.modelsDir });
  });

  app.post('/pull', async (c) => {
    const targets = await targetsOf(c);
    // Fire and forget: `pull` never rejects, and each outcome is logged and emitted as an event.
    void provisioner.pull(targets);
    return c.json({ pulling: describeTargets(targets) }, 202);
  });

  app.post('/verify', async (c) => {
    const targets = await targetsOf(c);
    const report = (progress: ModelProgress) =>
      bus?.emit({ type: 'model-progress', plugin: progress.plugins[0] ?? '', filename: progress.filename, receivedBytes: progress.receivedBytes, totalBytes: progress.totalBytes, bytesPerSecond: progress.bytesPerSecond, state: progress.state });
    const sizes = new Map<string, number | null>();
    // Fire and forget like pull: the outcome of each file arrives as its last model-progress event.
    void provisioner
      .verify(targets, { onProgress: (progress) => (sizes.set(progress.filename, progress.totalBytes), report(progress)) })
      .then((results) => {
        for (const result of results) bus?.emit(verifyOutcomeEvent(result, sizes.get(result.filename) ?? null));
      })
      .catch((error: unknown) => {
        for (const target of describeTargets(targets))
          for (const filename of target.models) bus?.emit({ type: 'model-progress', plugin: target.plugin, filename, receivedBytes: 0, totalBytes: null, bytesPerSecond: 0, state: 'failed', error: `Verification failed: ${(error as Error).message}` });
      });
    return c.json({ verifying: describeTargets(targets) }, 202);
  });

  return app;
}
