import { Hono } from 'hono';
import { z } from 'zod';
import type { PluginMatch, PluginRegistry } from '../../plugins/plugin-registry.js';
import { settingsPatchSchema, type SettingsStore } from '../../settings/settings-store.js';
import { ApiError, describeIssue, parseJsonBody } from '../api-error.js';
import type { ApiEnv } from '../api-env.js';

const urlQuery = z.url({ protocol: /^https?$/ });

/**
 * Settings problems as people read them in the dashboard and the popup: a site pattern's message
 * names the pattern (and the plugin it was for), not its position (`disabled_sites.0`).
 */
export function describeSettingsIssue(issue: z.core.$ZodIssue): string {
  const [key, second] = issue.path;
  if (key === 'disabled_sites' && issue.path.length === 2) return issue.message;
  if (key === 'plugin_disabled_sites' && issue.path.length === 3) return `For plugin "${String(second)}": ${issue.message}`;
  return describeIssue(issue);
}

/**
 * `GET /api/settings`, `PATCH /api/settings` (pause, per-site and per-plugin-per-site switches,
 * per-plugin mode) and `GET /api/settings/active?url=` (what a tab at that URL gets injected,
 * for the extension's badge and popup). Token-protected like every non-public route.
 */
export function settingsRoutes(store: SettingsStore, registry: PluginRegistry, activePlugins: (url: string) => PluginMatch[]) {
  return new Hono<ApiEnv>()
    .get('/', (c) => c.json(store.get()))
    .patch('/', async (c) => {
      const patch = await parseJsonBody(c, settingsPatchSchema, describeSettingsIssue);
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
