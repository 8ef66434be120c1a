/**
 * The gateway API's answers as the extension uses them (docs/EXTENSION.md, the gateway's
 * `api/routes/`), as schemas: a server has proved it holds the token before the extension calls
 * these, yet an answer in another shape (a gateway of another version, most likely) is refused at
 * the edge with words that say so, instead of failing later as "x.map is not a function". Unknown
 * fields are dropped, so a newer gateway's added fields pass (a new value of an enum does not, and
 * an event of a type the extension does not know is passed over). Declared here rather than imported so
 * the extension builds on its own, with zod/mini's small footprint.
 */
import { z } from 'zod/mini';

export type { GatewayHealth } from './unproven-answers';

const strings = z.array(z.string());

export const GatewaySettingsSchema = z.object({
  paused: z.boolean(),
  disabled_sites: strings,
  plugin_disabled_sites: z.record(z.string(), strings),
  plugin_modes: z.record(z.string(), z.enum(['local', 'cloud'])),
  /** Sites allowed to reach the cloud through Web AI (docs/WEBAI.md). */
  webai_cloud_origins: z.optional(strings),
});
export type GatewaySettings = z.infer<typeof GatewaySettingsSchema>;

/** `GET /api/webai/status`: what each built-in AI API runs on and whether it is ready. */
export const WebAiStatusSchema = z.object({
  enabled: z.boolean(),
  apis: z.array(z.object({ api: z.string(), backend: z.enum(['local', 'cloud']), state: z.string() })),
});
export type WebAiStatus = z.infer<typeof WebAiStatusSchema>;

export const ActivePluginsSchema = z.object({
  url: z.string(),
  plugins: z.array(z.object({ id: z.string(), active: z.boolean() })),
});
export type ActivePlugins = z.infer<typeof ActivePluginsSchema>;

const RunAtSchema = z.enum(['document_start', 'document_end', 'document_idle']);
export type RunAt = z.infer<typeof RunAtSchema>;

export const PluginInfoSchema = z.object({
  id: z.string(),
  status: z.enum(['enabled', 'error']),
  name: z.optional(z.string()),
  content_scripts: z.optional(z.array(z.object({ matches: strings, exclude_matches: z.optional(strings), run_at: z.optional(RunAtSchema) }))),
  errors: z.optional(strings),
});
export type PluginInfo = z.infer<typeof PluginInfoSchema>;
export const PluginListSchema = z.object({ plugins: z.array(PluginInfoSchema) });

const InjectedFileSchema = z.object({
  file: z.string(),
  /** API path of the file (`/api/plugins/<id>/files/<file>`), served by the proxy's bridge too. */
  path: z.string(),
  code: z.string(),
});
export type InjectedFile = z.infer<typeof InjectedFileSchema>;

/** `GET /api/inject?url=`: the runtime and the active plugins' scripts for a URL. */
export const InjectionPlanSchema = z.object({
  url: z.string(),
  runtime: z.string(),
  /** A bridge base for this URL's plugins; a proxied page switches to it after an SPA navigation. */
  bridge: z.nullable(z.string()),
  plugins: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      scripts: z.array(z.object({ run_at: RunAtSchema, js: z.array(InjectedFileSchema), css: z.array(InjectedFileSchema) })),
    }),
  ),
});
export type InjectionPlan = z.infer<typeof InjectionPlanSchema>;

/** One event of `GET /api/events` (server-sent events); events of other types are passed over. */
export const GatewayEventSchema = z.union([
  z.object({
    type: z.literal('model-progress'),
    plugin: z.string(),
    filename: z.string(),
    receivedBytes: z.number(),
    totalBytes: z.nullable(z.number()),
    state: z.enum(['downloading', 'verifying', 'ready', 'failed']),
    error: z.optional(z.string()),
  }),
  z.object({ type: z.literal('worker-state'), plugin: z.string(), state: z.string(), detail: z.optional(z.string()) }),
  z.looseObject({ type: z.enum(['log', 'settings']) }),
]);
export type GatewayEvent = z.infer<typeof GatewayEventSchema>;

/** A call's result (`POST /api/plugins/:id/infer`): the plugin's own answer, whatever its shape. */
export const InferAnswerSchema = z.object({ result: z.optional(z.unknown()) });

export interface GatewayErrorBody {
  error: { code: string; message: string };
}
