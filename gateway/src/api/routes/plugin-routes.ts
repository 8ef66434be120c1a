import { readFile, realpath } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import { Hono } from 'hono';
import { z } from 'zod';
import type { InferenceRouter } from '../../inference/inference-router.js';
import type { PluginRecord, PluginRegistry } from '../../plugins/plugin-registry.js';
import { publishedFiles } from '../../plugins/published-files.js';
import { ApiError, parseJsonBody } from '../api-error.js';
import type { ApiEnv } from '../api-env.js';

const inferBodySchema = z.object({
  payload: z.unknown(),
  mode: z.enum(['local', 'cloud']).optional(),
});

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
};

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

/**
 * Serves a file an enabled plugin publishes (content scripts, their CSS, `web_accessible_resources`),
 * refusing anything else in its folder and anything that would leave it. An unpublished file is
 * "not found", whether or not it exists: a page learns nothing about the folder.
 */
async function readPluginFile(registry: PluginRegistry, id: string, path: string): Promise<{ body: Buffer; type: string }> {
  const record = registry.get(id);
  if (!record || record.status !== 'enabled') throw new ApiError(404, 'plugin_not_found', `No enabled plugin "${id}"`);
  if (!publishedFiles(record.manifest)(path)) throw new ApiError(404, 'file_not_found', `Plugin "${id}" publishes no file "${path}"`);
  try {
    const root = await realpath(record.dir);
    const file = await realpath(join(root, path));
    if (!file.startsWith(root + sep)) throw new ApiError(403, 'invalid_path', `"${path}" leaves the plugin folder`);
    return { body: await readFile(file), type: CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' };
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(404, 'file_not_found', `Plugin "${id}" has no file "${path}"`);
  }
}

export function pluginRoutes(registry: PluginRegistry, router: InferenceRouter) {
  return new Hono<ApiEnv>()
    .get('/', (c) => c.json({ plugins: registry.list().map(describePlugin) }))
    .get('/:id', (c) => {
      const record = registry.get(c.req.param('id'));
      if (!record) throw new ApiError(404, 'plugin_not_found', `No plugin "${c.req.param('id')}" is installed`);
      return c.json(describePlugin(record));
    })
    .post('/:id/infer', async (c) => {
      const body = await parseJsonBody(c, inferBodySchema);
      const result = await router.infer(c.req.param('id'), { payload: body.payload, mode: body.mode, signal: c.req.raw.signal, caller: c.get('caller') });
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
      const file = await readPluginFile(registry, id, path);
      // Plugin files change under hot reload; revalidate every time rather than serve a stale script.
      return c.body(new Uint8Array(file.body), 200, { 'content-type': file.type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
    });
}
