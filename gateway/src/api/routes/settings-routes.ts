import { Hono } from 'hono';
import { z } from 'zod';
import type { PluginMatch, PluginRegistry } from '../../plugins/plugin-registry.js';
import { settingsPatchSchema, type SettingsStore } from '../../settings/settings-store.js';
import { ApiError, parseJsonBody } from '../api-error.js';
import type { ApiEnv } from '../api-env.js';

const urlQuery = z.url({ protocol: /^https?$/ });

/**
 * `GET /api/settings`, `PATCH /api/settings` (pause, per-site and per-plugin-per-site switches,
 * per-plugin mode) and `GET /api/settings/active?url=` (what a tab at that URL gets injected,
 * for the extension's badge and popup). Token-protected like every non-public route.
 */
export function settingsRoutes(store: SettingsStore, registry: PluginRegistry, activePlugins: (url: string) => PluginMatch[]) {
  return new Hono<ApiEnv>()
    .get('/', (c) => c.json(store.get()))
    .patch('/', async (c) => {
      const patch = await parseJsonBody(c, settingsPatchSchema);
      const perPlugin = [patch.plugin_disabled_sites, patch.plugin_modes, patch.plugin_allowed_secrets].flatMap((map) => Object.keys(map ?? {}));
      for (const id of perPlugin) {
        if (!registry.get(id)) throw new ApiError(404, 'plugin_not_found', `No plugin "${id}" is installed`);
      }
      return c.json(await store.update(patch));
    })
    .get('/active', (c) => {
      const parsed = urlQuery.safeParse(c.req.query('url'));
      if (!parsed.success) throw new ApiError(400, 'invalid_url', 'Query parameter url must be an http(s) URL');
      const matched = registry.matching(parsed.data).map(({ plugin }) => plugin.id);
      const active = new Set(activePlugins(parsed.data).map(({ plugin }) => plugin.id));
      return c.json({ url: parsed.data, plugins: matched.map((id) => ({ id, active: active.has(id) })) });
    });
}
