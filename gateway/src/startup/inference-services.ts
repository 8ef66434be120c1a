import type { GatewayConfig } from '../config/config-schema.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../events/logger.js';
import { createCloudBudget, type CloudBudget } from '../inference/cloud-budget.js';
import { createCloudRelay } from '../inference/cloud-relay.js';
import { createInferenceRouter, type InferenceRouter } from '../inference/inference-router.js';
import type { ModelProvisioner } from '../models/model-provisioner.js';
import type { PluginRegistry } from '../plugins/plugin-registry.js';
import { isGatewayOrigin, siteActive } from '../settings/active-plugins.js';
import type { SettingsStore } from '../settings/settings-store.js';
import { createWebAiBuiltIns, withBuiltIns } from '../webai/builtin-plugins.js';
import { createSiteLimits } from '../webai/site-limits.js';
import { createWebAiService, type WebAiService } from '../webai/webai-service.js';
import type { WorkerManager } from '../workers/worker-manager.js';
import { createGatewayWorkers } from './gateway-workers.js';

export interface InferenceServicesOptions {
  config: GatewayConfig;
  env: NodeJS.ProcessEnv;
  token: string;
  registry: PluginRegistry;
  settings: SettingsStore;
  provisioner: ModelProvisioner;
  bus: EventBus;
  logger: Logger;
  apiPort: number;
}

export interface InferenceServices {
  workers: WorkerManager;
  router: InferenceRouter;
  budget: CloudBudget;
  webAi: WebAiService;
  /** The registry with Web AI's built-ins, for the models and workers views. */
  withWebAi: ReturnType<typeof withBuiltIns>;
}

/** Local workers, the cloud relay and its page budget, the router between them, and Web AI on top. */
export async function createInferenceServices({ config, env, token, registry, settings, provisioner, bus, logger, apiPort }: InferenceServicesOptions): Promise<InferenceServices> {
  // Web AI's backends are built-in "plugins" (webai/builtin-plugins.ts): workers, models and limits apply unchanged.
  const webAiBuiltIns = await createWebAiBuiltIns(config.webai);
  const builtInIds = new Set(webAiBuiltIns.all.map((plugin) => plugin.id));
  let webAi: WebAiService | null = null;
  const workers = createGatewayWorkers({
    ...{ config, env, token, registry, settings, bus, logger },
    modelsDir: provisioner.modelsDir,
    provisionModels: (plugin, signal) => (webAi && builtInIds.has(plugin.id) ? webAi.provisionBuiltIn(plugin, signal) : provisioner.ensure(plugin, { signal })),
  });
  const cloud = createCloudRelay({ settings: () => config.cloud, logger: logger.child('cloud') });
  const budget = createCloudBudget({
    limits: () => ({ requestsPerMinute: config.cloud.page_requests_per_minute, maxTokens: config.cloud.page_max_tokens, maxInputBytes: config.cloud.page_max_input_bytes }),
    bus,
  });
  const router = createInferenceRouter({
    registry,
    local: workers,
    cloud,
    budget,
    userMode: (id) => settings.get().plugin_modes[id],
    fallback: () => config.cloud.fallback,
    logger: logger.child('inference'),
    onCall: (call) => bus.emit(call),
  });
  webAi = createWebAiService({
    config: () => config.webai,
    builtIns: webAiBuiltIns,
    local: workers,
    cloud,
    cloudConfigured: () => config.cloud.base_url !== null,
    budget,
    provisioner,
    cloudOrigins: () => settings.get().webai_cloud_origins,
    siteActive: (origin) => !isGatewayOrigin(origin, apiPort) && siteActive(settings.get(), origin),
    limits: createSiteLimits({ requestsPerMinute: () => config.webai.page_requests_per_minute, maxConcurrent: () => config.webai.page_max_concurrent }),
  });
  return { workers, router, budget, webAi, withWebAi: withBuiltIns(registry, webAiBuiltIns.all) };
}
