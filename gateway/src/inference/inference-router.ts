import type { Caller } from '../api/api-env.js';
import { ApiError } from '../api/api-error.js';
import type { InferenceActivity } from '../events/activity-events.js';
import type { Logger } from '../events/logger.js';
import type { LoadedPlugin, PluginRegistry } from '../plugins/plugin-registry.js';
import { siteOf } from '../net/site-of.js';
import type { CloudBudget } from './cloud-budget.js';
import type { TokenUsage } from './openai-compatible.js';

export type InferenceMode = 'local' | 'cloud';

/** When the chosen backend cannot serve, whether to try the other one (`cloud.fallback` in config). */
export type FallbackPolicy = 'none' | 'local_to_cloud' | 'cloud_to_local' | 'both';

/**
 * Caps one call runs under (page calls to the cloud get their plugin's budget); the cloud relay's
 * per-call options (`CloudInferOptions`) are exactly these.
 */
export interface CallLimits {
  /** The longest answer, in tokens, the backend may ask for. */
  maxTokens?: number | undefined;
  /** Told what the call cost, when the backend knows. */
  onUsage?: ((usage: TokenUsage) => void) | undefined;
  /** The site whose page made the call (net/site-of.ts): the local backend charges it the crashes its calls may cause. */
  site?: string | undefined;
}

/** What the local backend is told of a call: a page's site, which it charges the crashes the call may cause (workers/site-crashes.ts). */
export const localCallLimits = (caller: Caller | undefined): CallLimits | undefined => (caller?.kind === 'page' ? { site: siteOf(caller.origin) } : undefined);

/** Something that can answer a plugin's request: the worker manager (local) or the cloud relay. */
export interface InferenceBackend {
  /**
   * Answers one call. `onChunk`, when given, receives partial results as they are produced
   * (generator backends, streamed cloud completions); the promise still resolves to the result.
   */
  infer(plugin: LoadedPlugin, payload: unknown, signal: AbortSignal, onChunk?: (chunk: unknown) => void, limits?: CallLimits): Promise<unknown>;
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
  /**
   * Who asks. A page may not choose where its call runs (only the user's setting counts) nor ask
   * for a fallback, and its cloud calls spend its plugin's budget. Unset: the user (token).
   */
  caller?: Caller | undefined;
}

export interface InferenceRouterOptions {
  registry: PluginRegistry;
  local: InferenceBackend;
  cloud: InferenceBackend;
  /** The user's per-plugin mode choice, which beats the manifest's default. */
  userMode?: (pluginId: string) => InferenceMode | undefined;
  /** The fallback policy, read per call so a settings change applies at once. Default: none. */
  fallback?: (pluginId: string) => FallbackPolicy;
  /** Budgets of page-initiated cloud calls; without one, page calls never go to the cloud. */
  budget?: CloudBudget;
  logger?: Logger;
  /** Told of every call once it ends, with its time and outcome (the dashboard's activity view). */
  onCall?: (call: InferenceActivity) => void;
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
  'worker_memory_exceeded',
  'worker_cpu_exceeded',
  'backend_unavailable',
  'cloud_not_configured',
  'cloud_unreachable',
  'cloud_timeout',
  'cloud_rate_limited',
  'cloud_error',
  'cloud_unauthorized',
  'cloud_not_found',
]);

/**
 * The mode a call runs in. The user's choice (else the manifest's default) is what a page gets;
 * a page asking for the other mode is refused rather than silently served, so a site can never
 * send a local-only plugin's data (or the user's money) to the cloud. The user may pick freely.
 */
export function chooseMode(pluginId: string, configured: InferenceMode, requested: InferenceMode | undefined, caller: Caller | undefined): InferenceMode {
  if (caller?.kind === 'page' && requested !== undefined && requested !== configured) {
    throw new ApiError(403, 'mode_not_allowed', `Plugin "${pluginId}" runs ${configured} for pages; a page may not ask for ${requested}`);
  }
  return requested ?? configured;
}

/** Looks a plugin up and refuses, with a specific error, anything that cannot run. */
export function requireRunnablePlugin(registry: PluginRegistry, pluginId: string): LoadedPlugin {
  const record = registry.get(pluginId);
  if (!record) throw new ApiError(404, 'plugin_not_found', `No plugin "${pluginId}" is installed`);
  if (record.status === 'error') throw new ApiError(409, 'plugin_disabled', `Plugin "${pluginId}" is disabled: ${record.errors.join('; ')}`);
  return record;
}

export function allowsFallback(policy: FallbackPolicy, from: InferenceMode): boolean {
  return policy === 'both' || (from === 'local' ? policy === 'local_to_cloud' : policy === 'cloud_to_local');
}

/**
 * Whether a failed call may go to the other side. The fallback policy is the default; a mode
 * chosen for this plugin or this call is not (the user's per-plugin mode, a direct caller's
 * `mode`), and a direct caller's `fallback` decides for its own call. The cloud never gets a
 * plugin's data its manifest does not send there (no `inference.cloud`), and a page's call never
 * goes to the other side of a mode the user chose (helper-77: with `local_to_cloud`, a page whose
 * call failed locally reached the cloud for a plugin the user had set to local).
 */
export function fallbackPermitted(facts: { policy: FallbackPolicy; from: InferenceMode; page: boolean; request: Pick<InferRequest, 'mode' | 'fallback'>; userMode: InferenceMode | undefined; declaresCloud: boolean }): boolean {
  if (facts.from === 'local' && !facts.declaresCloud) return false;
  if (!facts.page && facts.request.fallback !== undefined) return facts.request.fallback;
  if (facts.userMode !== undefined || (!facts.page && facts.request.mode !== undefined)) return false;
  return allowsFallback(facts.policy, facts.from);
}

/**
 * Routes a plugin call to local or cloud: for the user (token) the request's `mode` beats the
 * user's setting, which beats the manifest's `default_mode`; a page gets the setting only (see
 * chooseMode), and its cloud calls spend the plugin's budget. When the chosen side cannot serve (see FALLBACK_CODES) and
 * the fallback policy (or the request) allows it, the other side gets the call — unless partial
 * results were already sent, which a second backend could not continue.
 *
 * @example
 *   const router = createInferenceRouter({ registry, local: workers, cloud: relay, fallback: () => 'local_to_cloud' });
 *   await router.infer('echo', { payload: { text: 'hi' } });
 */
export function createInferenceRouter(options: InferenceRouterOptions): InferenceRouter {
  const route = routeCall(options);
  if (!options.onCall) return { infer: route };
  const onCall = options.onCall;
  return {
    async infer(pluginId, request) {
      const started = performance.now();
      let mode: InferenceMode | null = null;
      let error: string | null = null;
      try {
        return await route(pluginId, { ...request, onMode: (served) => ((mode = served), request.onMode?.(served)) });
      } catch (failure) {
        error = failure instanceof ApiError ? failure.code : 'internal_error';
        throw failure;
      } finally {
        const caller = request.caller;
        onCall({ type: 'inference', plugin: pluginId, mode, caller: caller?.kind ?? 'user', origin: caller?.kind === 'page' ? caller.origin : null, durationMs: Math.round(performance.now() - started), error });
      }
    },
  };
}

function routeCall(options: InferenceRouterOptions): InferenceRouter['infer'] {
  return async (pluginId, request) => {
    const plugin = requireRunnablePlugin(options.registry, pluginId);
    const inference = plugin.manifest.inference;
    if (!inference) throw new ApiError(400, 'no_inference', `Plugin "${pluginId}" declares no inference backend`);
    const page = request.caller?.kind === 'page';
    const userMode = options.userMode?.(pluginId);
    const mode = chooseMode(pluginId, userMode ?? inference.default_mode, request.mode, request.caller);
    const signal = request.signal ?? new AbortController().signal;
    let chunked = false;
    const onChunk = request.onChunk
      ? (chunk: unknown) => {
          chunked = true;
          request.onChunk!(chunk);
        }
      : undefined;
    const run = (which: InferenceMode) => {
      if (which === 'local') return options.local.infer(plugin, request.payload, signal, onChunk, localCallLimits(request.caller));
      if (!page) return options.cloud.infer(plugin, request.payload, signal, onChunk);
      if (!options.budget) throw new ApiError(403, 'mode_not_allowed', `Plugin "${pluginId}": pages may not reach the cloud here`);
      const { maxTokens } = options.budget.admit(plugin, Buffer.byteLength(JSON.stringify(request.payload ?? null)));
      return options.cloud.infer(plugin, request.payload, signal, onChunk, { maxTokens, onUsage: (usage) => options.budget?.recordTokens(pluginId, usage.totalTokens) });
    };
    try {
      const result = await run(mode);
      request.onMode?.(mode);
      return result;
    } catch (error) {
      const other: InferenceMode = mode === 'local' ? 'cloud' : 'local';
      const permitted = fallbackPermitted({ policy: options.fallback?.(pluginId) ?? 'none', from: mode, page, request, userMode, declaresCloud: inference.cloud !== undefined });
      if (!permitted || chunked || signal.aborted || !(error instanceof ApiError) || !FALLBACK_CODES.has(error.code)) throw error;
      options.logger?.warn(`Plugin "${pluginId}": ${mode} inference failed (${error.code}); falling back to ${other}`);
      try {
        const result = await run(other);
        request.onMode?.(other);
        return result;
      } catch (second) {
        // The first failure is the one the user's setup is about; the fallback's is context.
        throw new ApiError(error.status, error.code, `${error.message} (fallback to ${other} also failed: ${(second as Error).message})`);
      }
    }
  };
}
