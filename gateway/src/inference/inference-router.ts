import { ApiError } from '../api/api-error.js';
import type { Logger } from '../events/logger.js';
import type { LoadedPlugin, PluginRegistry } from '../plugins/plugin-registry.js';

export type InferenceMode = 'local' | 'cloud';

/** When the chosen backend cannot serve, whether to try the other one (`cloud.fallback` in config). */
export type FallbackPolicy = 'none' | 'local_to_cloud' | 'cloud_to_local' | 'both';

/** Something that can answer a plugin's request: the worker manager (local) or the cloud relay. */
export interface InferenceBackend {
  /**
   * Answers one call. `onChunk`, when given, receives partial results as they are produced
   * (generator backends, streamed cloud completions); the promise still resolves to the result.
   */
  infer(plugin: LoadedPlugin, payload: unknown, signal: AbortSignal, onChunk?: (chunk: unknown) => void): Promise<unknown>;
}

export interface InferRequest {
  payload: unknown;
  mode?: InferenceMode | undefined;
  signal?: AbortSignal | undefined;
  /** Receive partial results (WebSocket and SSE callers). */
  onChunk?: ((chunk: unknown) => void) | undefined;
  /** Per request: `true` allows falling back to the other mode, `false` forbids it; unset = config. */
  fallback?: boolean | undefined;
  /** Told which mode finally served the call (after a fallback, the other one). */
  onMode?: ((mode: InferenceMode) => void) | undefined;
}

export interface InferenceRouterOptions {
  registry: PluginRegistry;
  local: InferenceBackend;
  cloud: InferenceBackend;
  /** The user's per-plugin mode choice, which beats the manifest's default. */
  userMode?: (pluginId: string) => InferenceMode | undefined;
  /** The fallback policy, read per call so a settings change applies at once. Default: none. */
  fallback?: (pluginId: string) => FallbackPolicy;
  logger?: Logger;
}

export interface InferenceRouter {
  infer(pluginId: string, request: InferRequest): Promise<unknown>;
}

/**
 * Error codes that mean "this backend cannot serve right now" — worth trying the other mode.
 * A backend that raised, a bad payload or a cancelled call are not: the other side would fail
 * the same way, or nobody is waiting.
 */
export const FALLBACK_CODES = new Set([
  'no_local_backend',
  'unsupported_backend',
  'models_unavailable',
  'worker_busy',
  'worker_failed',
  'worker_start_failed',
  'worker_crashed',
  'worker_restarted',
  'worker_timeout',
  'backend_unavailable',
  'cloud_not_configured',
  'cloud_unreachable',
  'cloud_timeout',
  'cloud_rate_limited',
  'cloud_error',
  'cloud_unauthorized',
  'cloud_not_found',
]);

/** Looks a plugin up and refuses, with a specific error, anything that cannot run. */
export function requireRunnablePlugin(registry: PluginRegistry, pluginId: string): LoadedPlugin {
  const record = registry.get(pluginId);
  if (!record) throw new ApiError(404, 'plugin_not_found', `No plugin "${pluginId}" is installed`);
  if (record.status === 'error') throw new ApiError(409, 'plugin_disabled', `Plugin "${pluginId}" is disabled: ${record.errors.join('; ')}`);
  return record;
}

function allowsFallback(policy: FallbackPolicy, from: InferenceMode): boolean {
  return policy === 'both' || (from === 'local' ? policy === 'local_to_cloud' : policy === 'cloud_to_local');
}

/**
 * Routes a plugin call to local or cloud: the request's `mode` beats the user's setting, which
 * beats the manifest's `default_mode`. When the chosen side cannot serve (see FALLBACK_CODES) and
 * the fallback policy (or the request) allows it, the other side gets the call — unless partial
 * results were already sent, which a second backend could not continue.
 *
 * @example
 *   const router = createInferenceRouter({ registry, local: workers, cloud: relay, fallback: () => 'local_to_cloud' });
 *   await router.infer('echo', { payload: { text: 'hi' } });
 */
export function createInferenceRouter(options: InferenceRouterOptions): InferenceRouter {
  return {
    async infer(pluginId, request) {
      const plugin = requireRunnablePlugin(options.registry, pluginId);
      const inference = plugin.manifest.inference;
      if (!inference) throw new ApiError(400, 'no_inference', `Plugin "${pluginId}" declares no inference backend`);
      const mode = request.mode ?? options.userMode?.(pluginId) ?? inference.default_mode;
      const signal = request.signal ?? new AbortController().signal;
      let chunked = false;
      const onChunk = request.onChunk
        ? (chunk: unknown) => {
            chunked = true;
            request.onChunk!(chunk);
          }
        : undefined;
      const backend = (which: InferenceMode) => (which === 'local' ? options.local : options.cloud);
      try {
        const result = await backend(mode).infer(plugin, request.payload, signal, onChunk);
        request.onMode?.(mode);
        return result;
      } catch (error) {
        const other: InferenceMode = mode === 'local' ? 'cloud' : 'local';
        const permitted = request.fallback ?? allowsFallback(options.fallback?.(pluginId) ?? 'none', mode);
        if (!permitted || chunked || signal.aborted || !(error instanceof ApiError) || !FALLBACK_CODES.has(error.code)) throw error;
        options.logger?.warn(`Plugin "${pluginId}": ${mode} inference failed (${error.code}); falling back to ${other}`);
        try {
          const result = await backend(other).infer(plugin, request.payload, signal, onChunk);
          request.onMode?.(other);
          return result;
        } catch (second) {
          // The first failure is the one the user's setup is about; the fallback's is context.
          throw new ApiError(error.status, error.code, `${error.message} (fallback to ${other} also failed: ${(second as Error).message})`);
        }
      }
    },
  };
}
