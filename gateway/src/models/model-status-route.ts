import { Hono } from 'hono';
import { ApiError } from '../api/api-error.js';
import type { ApiEnv } from '../api/api-env.js';
import type { ModelStatus } from './model-inventory.js';
import type { ModelProvisioner } from './model-provisioner.js';
import type { ModelsRouteRegistry } from './models-routes.js';

/**
 * One plugin's models as a page may see them: a state and byte counts over all its files. No
 * file names, paths, URLs, hashes or error text: any website the plugin runs on can read this.
 */
export interface PluginModelStatus {
  state: 'ready' | 'downloading' | 'missing' | 'failed';
  receivedBytes: number;
  /** Null while some file's size is unknown. */
  totalBytes: number | null;
}

const FAILED = new Set<ModelStatus['state']>(['corrupt', 'conflict']);
// `unverified` files are present and hashed when first used: nothing to download.
const PRESENT = new Set<ModelStatus['state']>(['ready', 'unverified']);

/** Folds the plugin's files into one status: downloading wins, then failure, then ready when all are present. */
export function summarizeModels(models: ModelStatus[]): PluginModelStatus {
  let receivedBytes = 0;
  let totalBytes: number | null = 0;
  for (const model of models) {
    const size = model.totalBytes ?? model.sizeOnDisk ?? model.declaredSize;
    totalBytes = totalBytes === null || size === null ? null : totalBytes + size;
    if (model.state === 'downloading') receivedBytes += model.receivedBytes ?? 0;
    else if (PRESENT.has(model.state)) receivedBytes += size ?? 0;
  }
  const state: PluginModelStatus['state'] = models.some((model) => model.state === 'downloading')
    ? 'downloading'
    : models.some((model) => FAILED.has(model.state) || (model.error !== null && !PRESENT.has(model.state)))
      ? 'failed'
      : models.every((model) => PRESENT.has(model.state))
        ? 'ready'
        : 'missing';
  return { state, receivedBytes, totalBytes };
}

/**
 * `GET /api/plugins/:id/models/status` — the plugin's model download progress, for its pages
 * (through the bridge, only for plugins injected into them) and for token callers. Cheap: stats
 * and cache reads, no hashing, so a page may poll it while a first `infer` waits.
 * Mounted by the composition root at `/api/plugins`.
 */
export function modelStatusRoutes(provisioner: ModelProvisioner, registry: ModelsRouteRegistry) {
  return new Hono<ApiEnv>().get('/:id/models/status', async (c) => {
    const id = c.req.param('id');
    const record = registry.get(id);
    if (!record || record.status !== 'enabled') throw new ApiError(404, 'plugin_not_found', `No enabled plugin "${id}"`);
    const models = (await provisioner.list([record])).filter((model) => model.plugins.some((owner) => owner.id === id));
    return c.json(summarizeModels(models));
  });
}
