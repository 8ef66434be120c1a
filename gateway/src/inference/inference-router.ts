import { ApiError } from '../api/api-error.js';
import type { LoadedPlugin, PluginRegistry } from '../plugins/plugin-registry.js';

export type InferenceMode = 'local' | 'cloud';

/** Something that can answer a plugin's request: the worker manager (local) or the cloud relay. */
export interface InferenceBackend {
  infer(plugin: LoadedPlugin, payload: unknown, signal: AbortSignal): Promise<unknown>;
}

export interface InferRequest {
  payload: unknown;
  mode?: InferenceMode | undefined;
  signal?: AbortSignal | undefined;
}

export interface InferenceRouterOptions {
  registry: PluginRegistry;
  local: InferenceBackend;
  cloud: InferenceBackend;
  /** The user's per-plugin mode choice, which beats the manifest's default. */
  userMode?: (pluginId: string) => InferenceMode | undefined;
}

export interface InferenceRouter {
  infer(pluginId: string, request: InferRequest): Promise<unknown>;
}

/** Looks a plugin up and refuses, with a specific error, anything that cannot run. */
export function requireRunnablePlugin(registry: PluginRegistry, pluginId: string): LoadedPlugin {
  const record = registry.get(pluginId);
  if (!record) throw new ApiError(404, 'plugin_not_found', `No plugin "${pluginId}" is installed`);
  if (record.status === 'error') throw new ApiError(409, 'plugin_disabled', `Plugin "${pluginId}" is disabled: ${record.errors.join('; ')}`);
  return record;
}

/**
 * Routes a plugin call to local or cloud: the request's `mode` beats the user's setting, which
 * beats the manifest's `default_mode`.
 *
 * @example
 *   const router = createInferenceRouter({ registry, local: workers, cloud: relay });
 *   await router.infer('echo', { payload: { text: 'hi' } });
 */
export function createInferenceRouter(options: InferenceRouterOptions): InferenceRouter {
  return {
    async infer(pluginId, request) {
      const plugin = requireRunnablePlugin(options.registry, pluginId);
      const inference = plugin.manifest.inference;
      if (!inference) throw new ApiError(400, 'no_inference', `Plugin "${pluginId}" declares no inference backend`);
      const mode = request.mode ?? options.userMode?.(pluginId) ?? inference.default_mode;
      const backend = mode === 'local' ? options.local : options.cloud;
      return backend.infer(plugin, request.payload, request.signal ?? new AbortController().signal);
    },
  };
}
