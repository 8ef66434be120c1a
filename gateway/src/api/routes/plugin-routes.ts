import { Hono } from 'hono';
import { z } from 'zod';
import type { InferenceRouter } from '../../inference/inference-router.js';
import type { PluginRecord, PluginRegistry } from '../../plugins/plugin-registry.js';
import { ApiError, parseJsonBody } from '../api-error.js';
import type { ApiEnv } from '../api-env.js';
import type { PluginFileReader } from './plugin-files.js';

const inferBodySchema = z.object({
  payload: z.unknown(),
  mode: z.enum(['local', 'cloud']).optional(),
  /** Overrides `cloud.fallback` for this call, as on the SSE and WebSocket routes (a page's is ignored). */
  fallback: z.boolean().optional(),
});

/** The public view of a plugin: what it is, where it runs, whether it loaded. */
export function describePlugin(record: PluginRecord) {
  if (record.status === 'error') return { id: record.id, status: record.status, errors: record.errors };
  const { manifest } = record;
  return {
    id: record.id,
    status: record.status,
    ...(record.pendingErrors ? { pending_errors: record.pendingErrors } : {}),
    name: manifest.name,
    version: manifest.version,
    description: manifest.description,
    content_scripts: manifest.content_scripts,
    inference: manifest.inference
      ? {
          default_mode: manifest.inference.default_mode,
          local: manifest.inference.local_entry !== undefined,
          models: manifest.inference.models.map(({ key, filename, size }) => ({ key, filename, size: size ?? null })),
        }
      : null,
  };
}

export function pluginRoutes(registry: PluginRegistry, router: InferenceRouter, files: PluginFileReader) {
  return new Hono<ApiEnv>()
    .get('/', (c) => c.json({ plugins: registry.list().map(describePlugin) }))
    .get('/:id', (c) => {
      const record = registry.get(c.req.param('id'));
      if (!record) throw new ApiError(404, 'plugin_not_found', `No plugin "${c.req.param('id')}" is installed`);
      return c.json(describePlugin(record));
    })
    .post('/:id/infer', async (c) => {
      const body = await parseJsonBody(c, inferBodySchema);
      const result = await router.infer(c.req.param('id'), { payload: body.payload, mode: body.mode, fallback: body.fallback, signal: c.req.raw.signal, caller: c.get('caller') });
      return c.json({ result });
    })
    .get('/:id/files/*', async (c) => {
      const id = c.req.param('id');
      const prefix = `/api/plugins/${encodeURIComponent(id)}/files/`;
      let path: string;
      try {
        path = decodeURIComponent(new URL(c.req.url).pathname.slice(prefix.length));
      } catch {
        throw new ApiError(400, 'invalid_path', 'The file path is not valid percent-encoding');
      }
      const file = await files.read(id, path);
      // Plugin files change under hot reload; the browser revalidates every time rather than run a stale script.
      return c.body(new Uint8Array(file.body), 200, { 'content-type': file.type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
    });
}
