import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiEnv } from '../../api/api-env.js';
import { createApi } from '../../api/create-api.js';
import { createBridgeEntry } from '../../bridge/bridge-entry.js';
import { capabilityBase } from '../../bridge/bridge-paths.js';
import { createCapabilityIssuer } from '../../bridge/page-capability.js';
import { ensureCertificateAuthority } from '../../ca/certificate-authority.js';
import type { GatewayConfig } from '../../config/config-schema.js';
import { loadConfig } from '../../config/load-config.js';
import { createCloudBudget } from '../../inference/cloud-budget.js';
import { createCloudRelay } from '../../inference/cloud-relay.js';
import { createInferenceRouter } from '../../inference/inference-router.js';
import { createModelProvisioner } from '../../models/model-provisioner.js';
import { createPluginRegistry } from '../../plugins/plugin-registry.js';
import { activeOnSite, activePlugins, siteActive } from '../../settings/active-plugins.js';
import { createSettingsStore } from '../../settings/settings-store.js';
import { recordingLogger } from '../../workers/test-support.js';
import { createWorkerManager } from '../../workers/worker-manager.js';
import { createWebAiBuiltIns, withBuiltIns } from '../builtin-plugins.js';
import { createSiteLimits } from '../site-limits.js';
import { webAiRoutes } from '../webai-routes.js';
import { createWebAiService } from '../webai-service.js';

const FIXTURE_PLUGINS = fileURLToPath(new URL('../../../../e2e/fixtures/plugins/', import.meta.url));
const SECRET = 'webai-harness-secret-0123456789abcdef';
/** The API port the guard expects in Host; nothing listens there: requests go to `fetch` in-process. */
const API_PORT = 5999;

export interface HarnessOptions {
  /** Changes to the loaded defaults (config/config.json), before anything starts. */
  configure?: (config: GatewayConfig) => void;
  /** Worker manager settings the tests exercise. */
  workers?: { keepAliveMs?: number; maxMemoryMb?: number; requestTimeoutMs?: number };
}

/**
 * The gateway's Web AI path in one process, from real parts: the config defaults, the plugin
 * registry (e2e fixture plugins), the settings store, the model provisioner on a temporary models
 * folder, the worker manager (real worker processes), the cloud relay and budget, the Web AI
 * service and routes, the API with its guard, and the bridge entry with a capability issuer the
 * test mints page capabilities from (with or without the Web AI grant, for any origin).
 */
export async function startWebAiHarness(options: HarnessOptions = {}) {
  const root = await mkdtemp(join(tmpdir(), 'aiplugs-webai-'));
  const config = await loadConfig({ env: {} });
  // On by default (docs/WEBAI.md); set here too so a user config cannot switch it off under the tests.
  config.webai.enabled = true;
  config.webai.threads = 1;
  config.webai.context_size = 1024;
  config.webai.max_output_tokens = 64;
  options.configure?.(config);
  const { logger, bus, lines, events } = recordingLogger();
  const registry = await createPluginRegistry({ pluginsDir: FIXTURE_PLUGINS });
  const settings = await createSettingsStore({
    dataDir: root,
    defaults: { paused: false, disabled_sites: [], plugin_disabled_sites: {}, plugin_modes: {}, plugin_allowed_secrets: {}, webai_cloud_origins: [] },
    logger,
  });
  const provisioner = createModelProvisioner({ modelsDir: join(root, 'models'), mirror: config.models.mirror, offline: config.models.offline, bus, logger: logger.child('models'), progressIntervalMs: 0, retries: 0 });
  const builtIns = await createWebAiBuiltIns(config.webai);
  const builtInIds = new Set(builtIns.all.map((plugin) => plugin.id));
  let service: ReturnType<typeof createWebAiService> | null = null;
  const workers = createWorkerManager({
    provisionModels: (plugin, signal) => (service && builtInIds.has(plugin.id) ? service.provisionBuiltIn(plugin, signal) : provisioner.ensure(plugin, { signal })),
    modelsDir: provisioner.modelsDir,
    logger: logger.child('workers'),
    bus,
    keepAliveMs: options.workers?.keepAliveMs ?? 60_000,
    maxMemoryMb: options.workers?.maxMemoryMb ?? 0,
    requestTimeoutMs: options.workers?.requestTimeoutMs ?? 120_000,
    stopGraceMs: 500,
  });
  const cloud = createCloudRelay({ settings: () => config.cloud, logger: logger.child('cloud'), retryDelayMs: () => 1 });
  const budget = createCloudBudget({ limits: () => ({ requestsPerMinute: config.cloud.page_requests_per_minute, maxTokens: config.cloud.page_max_tokens, maxInputBytes: config.cloud.page_max_input_bytes }), bus });
  service = createWebAiService({
    config: () => config.webai,
    builtIns,
    local: workers,
    cloud,
    cloudConfigured: () => config.cloud.base_url !== null,
    budget,
    provisioner,
    cloudOrigins: () => settings.get().webai_cloud_origins,
    siteActive: (origin) => siteActive(settings.get(), origin),
    limits: createSiteLimits({ requestsPerMinute: () => config.webai.page_requests_per_minute, maxConcurrent: () => config.webai.page_max_concurrent }),
  });
  const ca = await ensureCertificateAuthority({ dataDir: root, lifetimeDays: 30, renewBeforeDays: 1, logger });
  const router = createInferenceRouter({ registry, local: workers, cloud, budget });
  const token = 'webai-harness-token-0123456789abcdef0123';
  const capabilities = createCapabilityIssuer();
  const api = createApi({
    version: 'test',
    token,
    registry,
    activePlugins: (url) => activePlugins(registry, settings.get(), url),
    activeOnSite: (origin, id) => activeOnSite(registry, settings.get(), origin, id),
    bridgeBase: (origin, plugins) => capabilityBase(capabilities.mint({ origin, plugins, session: capabilities.newSession(), webai: true })),
    webAiOnSite: (origin) => config.webai.enabled && siteActive(settings.get(), origin),
    bodyLimits: { defaultBytes: config.api.max_body_bytes, inferBytes: config.api.max_infer_body_bytes, publicBytes: 16 * 1024, budgetBytes: config.api.max_buffered_body_bytes },
    settings,
    router,
    bus,
    logger,
    ca,
    addresses: () => ({ apiPort: API_PORT, proxyPort: 1 }),
    mounts: [
      { path: '/api/webai', app: webAiRoutes(service, logger.child('webai')) },
    ],
  });
  const bridge = createBridgeEntry({ fetch: api.fetch, secret: SECRET, capabilities });
  const env: ApiEnv['Bindings'] = {};

  const json = (body: unknown) => ({ method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return {
    root,
    config,
    settings,
    service,
    workers,
    provisioner,
    builtIns,
    inventory: withBuiltIns(registry, builtIns.all),
    logLines: lines,
    events,
    /** A direct (token) call, as the CLI or a plugin backend makes it. */
    user(path: string, body?: unknown, init: { signal?: AbortSignal } = {}): Promise<Response> {
      const request = new Request(`http://127.0.0.1:${API_PORT}${path}`, {
        ...(body === undefined ? {} : json(body)),
        headers: { host: `127.0.0.1:${API_PORT}`, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(init.signal ? { signal: init.signal } : {}),
      });
      return Promise.resolve(api.fetch(request, env));
    },
    /**
     * A page of `origin` calling through the bridge with a capability the proxy would mint: by
     * default with the Web AI grant; `capability` replaces the token (forgeries).
     */
    page(origin: string, grant: { webai?: boolean; plugins?: string[]; capability?: string } = {}) {
      const capability = grant.capability ?? capabilities.mint({ origin, plugins: grant.plugins ?? ['ping'], session: capabilities.newSession(), webai: grant.webai ?? true });
      const host = new URL(origin).host;
      const scheme = new URL(origin).protocol.slice(0, -1);
      return (path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST'): Promise<Response> => {
        const request = new Request(`http://127.0.0.1:${API_PORT}/__aiplugs-bridge/${SECRET}/${scheme}/cap/${capability}${path}`, {
          method,
          headers: { host, 'content-type': 'application/json', 'sec-fetch-site': 'same-origin', origin },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        return bridge.fetch(request, env);
      };
    },
    /** Stops the workers and downloads and removes the temporary folders. */
    async close() {
      await workers.stop();
      await provisioner.close();
      await rm(root, { recursive: true, force: true });
    },
    mintFor: (origin: string) => capabilities.mint({ origin, plugins: ['ping'], session: capabilities.newSession(), webai: true }),
  };
}

export type WebAiHarness = Awaited<ReturnType<typeof startWebAiHarness>>;

/** Reads an SSE answer into its events (name and parsed data), in order. */
export async function readEvents(response: Response): Promise<Array<{ event: string; data: unknown }>> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => block.trim())
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice(6))
        .join('\n');
      return { event, data: data ? (JSON.parse(data) as unknown) : null };
    });
}
