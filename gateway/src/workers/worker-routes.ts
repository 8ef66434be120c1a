import { Hono } from 'hono';
import { ApiError } from '../api/api-error.js';
import type { ApiEnv } from '../api/api-env.js';
import type { PluginRegistry } from '../plugins/plugin-registry.js';
import type { WorkerManager } from './worker-manager.js';

/**
 * `GET /api/workers` (state of every worker that ran), `POST /api/workers/:id/reset` (lift a
 * crash-loop stop) and `POST /api/workers/:id/stop` (unload now; the next call restarts it).
 * Token-protected like every non-public route; pages cannot reach them.
 */
export function workerRoutes(workers: WorkerManager, registry: Pick<PluginRegistry, 'get'>) {
  const known = (id: string) => {
    if (!registry.get(id)) throw new ApiError(404, 'plugin_not_found', `No plugin "${id}" is installed`);
    return id;
  };
  return new Hono<ApiEnv>()
    .get('/', (c) => c.json({ workers: workers.list() }))
    .get('/:id', (c) => {
      const id = known(c.req.param('id'));
      return c.json(workers.status(id) ?? { plugin: id, state: 'idle' });
    })
    .post('/:id/reset', (c) => {
      const id = known(c.req.param('id'));
      const wasFailed = workers.reset(id);
      return c.json({ plugin: id, reset: wasFailed, status: workers.status(id) ?? null });
    })
    .post('/:id/stop', async (c) => {
      const id = known(c.req.param('id'));
      await workers.unload(id);
      return c.json({ plugin: id, status: workers.status(id) ?? null });
    });
}
