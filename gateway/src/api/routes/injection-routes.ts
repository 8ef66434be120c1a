import { Hono } from 'hono';
import { z } from 'zod';
import type { PluginMatch } from '../../plugins/plugin-registry.js';
import { pluginFilePath } from '../../proxy/injection-markup.js';
import { pageRuntimeScript } from '../../runtime/page-runtime.js';
import { ApiError } from '../api-error.js';
import type { ApiEnv } from '../api-env.js';
import type { PluginFileReader } from './plugin-files.js';

const urlQuery = z.url({ protocol: /^https?$/ });

/** One plugin file, by the path the proxy would load it from and by content. */
export interface InjectedFile {
  /** The plugin-relative file, as the manifest names it. */
  file: string;
  /** The API path of the file (`/api/plugins/<id>/files/<file>`), what the proxy's bridge serves. */
  path: string;
  code: string;
}

export interface InjectedScript {
  run_at: 'document_start' | 'document_end' | 'document_idle';
  js: InjectedFile[];
  css: InjectedFile[];
}

/** What the extension's injection fallback needs for one URL. */
export interface InjectionPlan {
  url: string;
  /** The page runtime as a complete script, configured for the extension transport. */
  runtime: string;
  /**
   * A bridge base (`/__aiplugs/cap/<token>`) for these plugins on this URL's origin: a page the
   * proxy injected earlier on another URL of the site (an SPA navigation) switches to it.
   */
  bridge: string | null;
  plugins: Array<{ id: string; name: string; scripts: InjectedScript[] }>;
}

export interface InjectionRoutesOptions {
  version: string;
  activePlugins: (url: string) => PluginMatch[];
  apiPort: () => number;
  /** Mints a bridge base for `origin` and these plugin ids (see bridge/page-capability.ts). */
  bridgeBase: (origin: string, plugins: string[]) => string;
  /** The plugin files pages load through the bridge, read the same way (and from the same memory). */
  files: PluginFileReader;
}

/**
 * `GET /api/inject?url=`: everything a document at `url` gets injected, for documents that never
 * crossed the proxy (served by a service worker, restored from cache, or browsed without the
 * proxy). The extension runs `runtime` in the page, then starts `plugins` with their scripts by
 * `run_at`. Exactly the proxy's set (`activePlugins`), so the two paths cannot disagree.
 * Token-protected like every non-public route: plugin code and the page's plugin set are the user's.
 */
export function injectionRoutes(options: InjectionRoutesOptions) {
  return new Hono<ApiEnv>().get('/', async (c) => {
    const parsed = urlQuery.safeParse(c.req.query('url'));
    if (!parsed.success) throw new ApiError(400, 'invalid_url', 'Query parameter url must be an http(s) URL');
    const matches = options.activePlugins(parsed.data);
    const read = async (pluginId: string, file: string): Promise<InjectedFile> => ({ file, path: pluginFilePath(pluginId, file), code: (await options.files.read(pluginId, file)).body.toString('utf8') });
    const plugins = await Promise.all(
      matches.map(async ({ plugin, scripts }) => ({
        id: plugin.id,
        name: plugin.manifest.name,
        scripts: await Promise.all(
          scripts.map(async (script) => ({
            run_at: script.run_at,
            js: await Promise.all(script.js.map((file) => read(plugin.id, file))),
            css: await Promise.all(script.css.map((file) => read(plugin.id, file))),
          })),
        ),
      })),
    );
    const runtime = pageRuntimeScript({ version: options.version, apiPort: options.apiPort(), plugins: [], idle: [], transport: 'extension' });
    const bridge = plugins.length > 0 ? options.bridgeBase(new URL(parsed.data).origin, plugins.map(({ id }) => id)) : null;
    const plan: InjectionPlan = { url: parsed.data, runtime, bridge, plugins };
    return c.json(plan, 200, { 'cache-control': 'no-store' });
  });
}
