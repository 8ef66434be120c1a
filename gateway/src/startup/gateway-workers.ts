import type { GatewayConfig } from '../config/config-schema.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../events/logger.js';
import type { PluginRegistry } from '../plugins/plugin-registry.js';
import type { SettingsStore } from '../settings/settings-store.js';
import { createWorkerManager, type WorkerManager, type WorkerManagerOptions } from '../workers/worker-manager.js';

export interface GatewayWorkersOptions {
  config: GatewayConfig;
  env: NodeJS.ProcessEnv;
  token: string;
  registry: PluginRegistry;
  settings: SettingsStore;
  bus: EventBus;
  logger: Logger;
  modelsDir: string;
  /** Makes a plugin's models present before a worker for it is spawned. */
  provisionModels: WorkerManagerOptions['provisionModels'];
}

/** The worker manager with the gateway's limits and secret policy, kept in step with plugin reloads. */
export function createGatewayWorkers({ config, env, token, registry, settings, bus, logger, modelsDir, provisionModels }: GatewayWorkersOptions): WorkerManager {
  const workers = createWorkerManager({
    // Models are made present (downloaded, verified) before every spawn; failures reach the caller.
    provisionModels,
    modelsDir,
    logger: logger.child('workers'),
    bus,
    python: config.workers.python,
    keepAliveMs: config.workers.keep_alive_seconds * 1000,
    requestTimeoutMs: config.workers.request_timeout_seconds * 1000,
    concurrency: config.workers.concurrency,
    maxMemoryMb: config.workers.max_memory_mb,
    requestCpuMs: config.workers.request_cpu_seconds * 1000,
    queueSize: config.workers.queue_size,
    env,
    envPassthrough: config.workers.env_passthrough,
    secretValues: () => [token, config.cloud.api_key],
    // A secret reaches a worker only if its manifest asks (inference.env) and the user allowed it.
    grantableSecrets: (pluginId) => {
      const allowed = new Set(settings.get().plugin_allowed_secrets[pluginId] ?? []);
      const all = { SYSTEM_API_KEY: config.cloud.api_key, CLOUD_BASE_URL: config.cloud.base_url, AIPLUGS_API_TOKEN: token };
      return Object.fromEntries(Object.entries(all).filter(([name]) => allowed.has(name as keyof typeof all)));
    },
  });
  registry.onChange((ids) => {
    for (const id of ids) {
      const record = registry.get(id);
      workers.refresh(id, record?.status === 'enabled' ? record : null);
    }
  });
  return workers;
}
