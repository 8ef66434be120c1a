import type { ApiEnv } from '../api/api-env.js';
import { createApi, type ApiOptions } from '../api/create-api.js';
import { capabilityBase } from '../bridge/bridge-paths.js';
import type { CapabilityIssuer } from '../bridge/page-capability.js';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import type { GatewayConfig } from '../config/config-schema.js';
import { createBrowserLauncher } from '../dashboard/browser-launcher.js';
import { createDashboardAuth, type DashboardAuth } from '../dashboard/dashboard-auth.js';
import { dashboardApi, dashboardPages, type DashboardOptions } from '../dashboard/dashboard-routes.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../events/logger.js';
import type { CloudBudget } from '../inference/cloud-budget.js';
import { cloudUsageRoutes } from '../inference/cloud-usage-routes.js';
import { inferStreamRoutes } from '../inference/infer-stream-route.js';
import type { InferenceRouter } from '../inference/inference-router.js';
import type { ModelProvisioner } from '../models/model-provisioner.js';
import { modelStatusRoutes } from '../models/model-status-route.js';
import { modelsRoutes } from '../models/models-routes.js';
import { LOOPBACK } from '../net/pick-port.js';
import { createPairingCodes } from '../pairing/pairing-codes.js';
import { pairingRoutes } from '../pairing/pairing-routes.js';
import type { PluginRegistry } from '../plugins/plugin-registry.js';
import { isGatewayOrigin, siteActive } from '../settings/active-plugins.js';
import type { SettingsStore } from '../settings/settings-store.js';
import { VERSION } from '../version.js';
import { webAiRoutes } from '../webai/webai-routes.js';
import type { withBuiltIns } from '../webai/builtin-plugins.js';
import type { WebAiService } from '../webai/webai-service.js';
import type { WorkerManager } from '../workers/worker-manager.js';
import { workerRoutes } from '../workers/worker-routes.js';

export interface GatewayApiOptions {
  config: GatewayConfig;
  env: NodeJS.ProcessEnv;
  token: string;
  dataDir: string;
  ca: CertificateAuthority;
  registry: PluginRegistry;
  /** The registry with Web AI's built-ins, for the models and workers views. */
  withWebAi: ReturnType<typeof withBuiltIns>;
  settings: SettingsStore;
  router: InferenceRouter;
  workers: WorkerManager;
  provisioner: ModelProvisioner;
  webAi: WebAiService;
  budget: CloudBudget;
  capabilities: CapabilityIssuer;
  bus: EventBus;
  logger: Logger;
  apiPort: number;
  /** Known once the proxy listens. */
  proxyPort: () => number;
  injectedInto: ApiOptions['activePlugins'];
  stillActiveOnSite: (origin: string, pluginId: string) => boolean;
  requestShutdown: () => void;
}

/** The API app with every capability's routes and the dashboard mounted. */
export function createGatewayApi(options: GatewayApiOptions): { api: ReturnType<typeof createApi>; dashboardAuth: DashboardAuth; closeBrowsers: () => Promise<void> } {
  const { config, token, registry, withWebAi, settings, router, workers, provisioner, webAi, budget, capabilities, bus, logger, apiPort, proxyPort } = options;
  const dashboardAuth = createDashboardAuth({ cookieName: `aiplugs_session_${apiPort}` });
  const dashboard: DashboardOptions = {
    auth: dashboardAuth,
    token,
    version: VERSION,
    ca: options.ca,
    dataDir: options.dataDir,
    logger: logger.child('dashboard'),
    overview: () => ({ apiUrl: `http://${LOOPBACK}:${apiPort}`, proxyUrl: `http://${LOOPBACK}:${proxyPort()}`, apiPort, proxyPort: proxyPort() }),
    requestShutdown: options.requestShutdown,
    browser: createBrowserLauncher({
      env: options.env,
      addresses: () => ({ apiUrl: `http://${LOOPBACK}:${apiPort}`, proxyUrl: `http://${LOOPBACK}:${proxyPort()}` }),
      caSpki: options.ca.spki,
      logger: logger.child('browser'),
    }),
  };
  const api = createApi({
    version: VERSION,
    token,
    registry,
    activePlugins: options.injectedInto,
    activeOnSite: options.stillActiveOnSite,
    bridgeBase: (origin, plugins) => capabilityBase(capabilities.mint({ origin, plugins, session: capabilities.newSession(), webai: config.webai.enabled })),
    webAiOnSite: (origin) => config.webai.enabled && !isGatewayOrigin(origin, apiPort) && siteActive(settings.get(), origin),
    bodyLimits: {
      defaultBytes: config.api.max_body_bytes,
      inferBytes: config.api.max_infer_body_bytes,
      publicBytes: 16 * 1024,
      budgetBytes: config.api.max_buffered_body_bytes,
    },
    settings,
    router,
    bus,
    logger: logger.child('api'),
    ca: options.ca,
    addresses: () => ({ apiPort, proxyPort: proxyPort() }),
    mounts: [
      { path: '/api/models', app: modelsRoutes<ApiEnv>(provisioner, withWebAi, bus) },
      { path: '/api/workers', app: workerRoutes(workers, withWebAi) },
      { path: '/api/webai', app: webAiRoutes(webAi, logger.child('webai')) },
      { path: '/api/plugins', app: inferStreamRoutes(router) },
      { path: '/api/plugins', app: modelStatusRoutes(provisioner, registry) },
      { path: '/api/cloud', app: cloudUsageRoutes(budget) },
      { path: '/', app: dashboardPages(dashboard) },
      { path: '/api', app: dashboardApi(dashboard) },
      { path: '/api/pairing', app: pairingRoutes({ codes: createPairingCodes(), token, apiUrl: () => `http://${LOOPBACK}:${apiPort}`, logger: logger.child('pairing') }) },
    ],
    isDashboardSession: dashboardAuth.isSession,
    maxPageRequestsInFlight: config.api.max_page_requests_in_flight,
  });
  return { api, dashboardAuth, closeBrowsers: async () => dashboard.browser?.closeAll() };
}
