import { ApiError } from '../api/api-error.js';
import type { EventBus } from '../events/event-bus.js';
import type { LoadedPlugin } from '../plugins/plugin-registry.js';

/** What one plugin's page calls may spend on the cloud. */
export interface CloudBudgetLimits {
  requestsPerMinute: number;
  /** Cap on the answer's length (`max_tokens`) of every call. */
  maxTokens: number;
  /** Cap on what every call sends (its payload: the prompt), in bytes of JSON: the output cap alone let a page send 8 MiB prompts on the user's key. */
  maxInputBytes: number;
}

/** One plugin's page-initiated cloud use since the gateway started. */
export interface CloudUsage {
  plugin: string;
  requests: number;
  rejected: number;
  tokens: number;
  /** Calls in the current one-minute window, and the limit. */
  lastMinute: number;
  limits: CloudBudgetLimits;
}

export interface CloudBudgetOptions {
  /** The user's caps (`cloud.page_requests_per_minute`, `cloud.page_max_tokens`, `cloud.page_max_input_bytes`). */
  limits: () => CloudBudgetLimits;
  bus?: EventBus;
  now?: () => number;
}

export interface CloudBudget {
  /** Admits one page call of `plugin`, whose payload is `inputBytes` of JSON, to the cloud (or throws 413 or 429) and returns the caps it runs under. */
  admit(plugin: LoadedPlugin, inputBytes: number): CloudBudgetLimits;
  /** Adds the tokens a finished call used (from the server's `usage`, when it reports one). */
  recordTokens(pluginId: string, tokens: number): void;
  usage(): CloudUsage[];
}

const MINUTE_MS = 60_000;

/** The manifest may ask for less than the user allows, never more. */
export function effectiveLimits(plugin: LoadedPlugin, caps: CloudBudgetLimits): CloudBudgetLimits {
  const asked = plugin.manifest.inference?.cloud;
  return {
    requestsPerMinute: Math.min(asked?.requests_per_minute ?? caps.requestsPerMinute, caps.requestsPerMinute),
    maxTokens: Math.min(asked?.max_tokens ?? caps.maxTokens, caps.maxTokens),
    maxInputBytes: Math.min(asked?.max_input_bytes ?? caps.maxInputBytes, caps.maxInputBytes),
  };
}

/**
 * Per-plugin budgets for cloud calls that pages start: a sliding one-minute window of requests, a
 * cap on each payload's size and on each answer's tokens, both from the user's config and the plugin's manifest, never from
 * the page. Use is counted per plugin, published on the event bus (`cloud-usage`) for the
 * dashboard. Memory per plugin is bounded by its requests-per-minute.
 *
 * @example
 *   const budget = createCloudBudget({ limits: () => ({ requestsPerMinute: 20, maxTokens: 1024 }), bus });
 *   const { maxTokens } = budget.admit(plugin, payloadBytes); // throws ApiError 413 cloud_input_too_large, 429 cloud_budget_exceeded
 */
export function createCloudBudget(options: CloudBudgetOptions): CloudBudget {
  const now = options.now ?? Date.now;
  const records = new Map<string, { calls: number[]; requests: number; rejected: number; tokens: number; limits: CloudBudgetLimits }>();
  const recordOf = (pluginId: string, limits: CloudBudgetLimits) => {
    let record = records.get(pluginId);
    if (!record) {
      record = { calls: [], requests: 0, rejected: 0, tokens: 0, limits };
      records.set(pluginId, record);
    }
    record.limits = limits;
    return record;
  };
  const snapshot = (plugin: string): CloudUsage | null => {
    const record = records.get(plugin);
    if (!record) return null;
    const since = now() - MINUTE_MS;
    return { plugin, requests: record.requests, rejected: record.rejected, tokens: record.tokens, lastMinute: record.calls.filter((at) => at > since).length, limits: record.limits };
  };
  const publish = (plugin: string) => {
    const usage = snapshot(plugin);
    if (usage) options.bus?.emit({ type: 'cloud-usage', ...usage });
  };
  return {
    admit(plugin, inputBytes) {
      const limits = effectiveLimits(plugin, options.limits());
      const record = recordOf(plugin.id, limits);
      if (inputBytes > limits.maxInputBytes) {
        record.rejected += 1;
        publish(plugin.id);
        throw new ApiError(413, 'cloud_input_too_large', `Plugin "${plugin.id}": a page's cloud call may send ${limits.maxInputBytes} bytes of payload (cloud.page_max_input_bytes), and this one has ${inputBytes}`);
      }
      const since = now() - MINUTE_MS;
      while (record.calls.length > 0 && record.calls[0]! <= since) record.calls.shift();
      if (record.calls.length >= limits.requestsPerMinute) {
        record.rejected += 1;
        publish(plugin.id);
        throw new ApiError(429, 'cloud_budget_exceeded', `Plugin "${plugin.id}" reached its cloud budget of ${limits.requestsPerMinute} page call(s) per minute`);
      }
      record.calls.push(now());
      record.requests += 1;
      publish(plugin.id);
      return limits;
    },
    recordTokens(pluginId, tokens) {
      const record = records.get(pluginId);
      if (!record || !(tokens > 0)) return;
      record.tokens += tokens;
      publish(pluginId);
    },
    usage: () => [...records.keys()].map((plugin) => snapshot(plugin)!),
  };
}
