import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { createApi } from './api/create-api.js';
import { createBridgeEntry } from './bridge/bridge-entry.js';
import { capabilityBase } from './bridge/bridge-paths.js';
import { createCapabilityIssuer } from './bridge/page-capability.js';
import { createCloudBudget } from './inference/cloud-budget.js';
import { cloudUsageRoutes } from './inference/cloud-usage-routes.js';
import { createConnectionManager } from './connections/connection-manager.js';
import { attachWebSocketEndpoint } from './connections/websocket-endpoint.js';
import { ensureCertificateAuthority } from './ca/certificate-authority.js';
import type { GatewayConfig } from './config/config-schema.js';
import { loadConfig, type ConfigAssignment } from './config/load-config.js';
import { clearRuntimeInfo, ensureApiToken, prepareDataDir, resolveDataDir, writeRuntimeInfo } from './data/data-dir.js';
import { createEventBus, type EventBus } from './events/event-bus.js';
import { openLogFile, type LogFile } from './events/log-file.js';
import { createLogger, type Logger } from './events/logger.js';
import { lockDataDir } from './data/data-dir-lock.js';
import { createCloudRelay } from './inference/cloud-relay.js';
import { inferStreamRoutes } from './inference/infer-stream-route.js';
import { createInferenceRouter } from './inference/inference-router.js';
import { servableFromPage } from './inference/plugin-availability.js';
import { createModelProvisioner } from './models/model-provisioner.js';
import { modelsRoutes } from './models/models-routes.js';
import { modelStatusRoutes } from './models/model-status-route.js';
import type { ApiEnv } from './api/api-env.js';
import { assertLoopbackListeners } from './net/assert-loopback.js';
import { LOOPBACK, pickPort } from './net/pick-port.js';
import { assertPinnedPortsFree, isAddressInUse, PortInUseError } from './net/port-in-use.js';
import { createPluginRegistry, type PluginRegistry } from './plugins/plugin-registry.js';
import { describeReload } from './plugins/reload-outcome.js';
import { watchPlugins } from './plugins/watch-plugins.js';
import { createProxy } from './proxy/create-proxy.js';
import { assertMockttpPatched } from './proxy/mockttp-patch-check.js';
import { createDashboardAuth } from './dashboard/dashboard-auth.js';
import { dashboardApi, dashboardPages, type DashboardOptions } from './dashboard/dashboard-routes.js';
import { systemProxyHooks } from './system-proxy/gateway-hooks.js';
import { activeOnSite, activePlugins, isGatewayOrigin, siteActive } from './settings/active-plugins.js';
import { createSettingsStore } from './settings/settings-store.js';
import { repoPath, VERSION } from './version.js';
import { warnIfPythonMissing } from './workers/python-check.js';
import { createWorkerManager } from './workers/worker-manager.js';
import { createWebAiBuiltIns, withBuiltIns } from './webai/builtin-plugins.js';
import { createOriginLimits } from './webai/origin-limits.js';
import { webAiRoutes } from './webai/webai-routes.js';
import { createWebAiService, type WebAiService } from './webai/webai-service.js';
import { workerRoutes } from './workers/worker-routes.js';

/** The ready line of the public contract (`--json`), also written to `runtime.json`. */
export interface ReadyInfo {
  apiUrl: string;
  apiPort: number;
  proxyUrl: string;
  proxyPort: number;
  caCertPath: string;
  caSpki: string;
  dataDir: string;
}

export interface StartGatewayOptions {
  /** `--data-dir`; else `AIPLUGS_DATA_DIR`; else the per-user app data folder. */
  dataDir?: string | undefined;
  /** `--config`; else `<dataDir>/config.json` when it exists. */
  configFile?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** CLI flags, highest precedence. */
  overrides?: ConfigAssignment[];
  /** Where log lines go (stderr by default). */
  writeLog?: (line: string) => void;
}

export interface RunningGateway {
  info: ReadyInfo;
  config: GatewayConfig;
  token: string;
  registry: PluginRegistry;
  bus: EventBus;
  logger: Logger;
  /** A fresh one-time dashboard login link (`/login?code=…`). */
  loginUrl(): string;
  /** Resolves once the gateway has stopped, however it was asked to (signal, `aiplugs stop`, dashboard). */
  closed: Promise<void>;
  stop(): Promise<void>;
}


function listen(app: { fetch: (request: Request, env: ApiEnv['Bindings']) => Response | Promise<Response> }, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch as never, port, hostname: LOOPBACK }, () => resolve(server));
    server.once('error', reject);
    // A client that dribbles its head or body ties up only its own socket, and not for long.
    const http = server as ServerType & { headersTimeout: number; requestTimeout: number };
    http.headersTimeout = 10_000;
    http.requestTimeout = 30_000;
  });
}

/**
 * The composition root: loads config, data dir, CA and plugins, then starts the API and the proxy
 * on 127.0.0.1 and wires every capability together. Dependencies point inward: the API and the
 * proxy use the registry and the router; nothing below them knows they exist.
 */
export async function startGateway(options: StartGatewayOptions = {}): Promise<RunningGateway> {
  // Before anything listens: an unpatched mockttp would listen on every interface.
  await assertMockttpPatched({ rootPackageJson: repoPath('package.json') });
  const env = options.env ?? process.env;
  const dataDir = resolveDataDir(options.dataDir, env);
  await prepareDataDir(dataDir);
  const defaultUserConfig = join(dataDir, 'config.json');
  const userFile = options.configFile ?? env.AIPLUGS_CONFIG ?? (existsSync(defaultUserConfig) ? defaultUserConfig : null);
  const config = await loadConfig({ userFile, env, overrides: options.overrides ?? [] });

  const bus = createEventBus();
  // Every line goes to stderr (or the caller's writeLog) and, once this process owns the data dir, to logs/.
  const writeStderr = options.writeLog ?? ((line: string) => process.stderr.write(`${line}\n`));
  const logSecrets: Array<string | null> = [config.cloud.api_key];
  let logFile: LogFile | null = null;
  const logger = createLogger({ bus, level: config.log_level, write: (line) => (writeStderr(line), logFile?.write(line)), secrets: () => logSecrets });
  let onLockLost = (_error: Error) => {};
  const releaseLock = await lockDataDir(dataDir, { onWait: (message) => logger.warn(message), onCompromised: (error) => onLockLost(error) });
  const logsDir = join(dataDir, 'logs');
  logFile = openLogFile({
    dir: logsDir,
    maxFileBytes: config.logs.max_file_bytes,
    maxFiles: config.logs.max_files,
    onError: (error) => logger.warn(`Cannot write the log in ${logsDir} (${error.message}); logging to stderr only`),
  });
  const release = async () => {
    await logFile?.close();
    await releaseLock();
  };
  try {
    const gateway = await startOwnedGateway({ options, env, dataDir, config, bus, logger, logSecrets, release });
    onLockLost = (error) => {
      logger.error(`Lost the lock on ${dataDir} (${error.message}): another gateway took it over while this one was frozen; stopping`);
      void gateway.stop();
    };
    return gateway;
  } catch (error) {
    await release();
    throw error;
  }
}

/** What `startGateway` hands over once this process holds the data dir's lock. */
interface OwnedStart {
  options: StartGatewayOptions;
  env: NodeJS.ProcessEnv;
  dataDir: string;
  config: GatewayConfig;
  bus: EventBus;
  logger: Logger;
  /** Values redacted from every log line; the token joins once it is read. */
  logSecrets: Array<string | null>;
  /** Closes the log file and gives the data dir up (after runtime.json is cleared). */
  release: () => Promise<void>;
}

async function startOwnedGateway({ options, env, dataDir, config, bus, logger, logSecrets, release }: OwnedStart): Promise<RunningGateway> {
  // A port the user pinned and another program holds: say so now, not after the CA and plugins.
  await assertPinnedPortsFree({ api: config.api.port, proxy: config.proxy.port });
  const token = await ensureApiToken(dataDir);
  logSecrets.push(token);
  const ca = await ensureCertificateAuthority({ dataDir, lifetimeDays: config.ca.lifetime_days, renewBeforeDays: config.ca.renew_before_days, logger: logger.child('ca') });

  const pluginsDir = config.plugins_dir ?? repoPath('plugins');
  const registry = await createPluginRegistry({ pluginsDir });
  const enabled = registry.list().filter((plugin) => plugin.status === 'enabled');
  logger.info(`Loaded ${enabled.length} plugin(s) from ${pluginsDir}: ${enabled.map((plugin) => plugin.id).join(', ') || 'none'}`);
  for (const line of describeReload([], registry.list()).filter((outcome) => outcome.level === 'warn')) logger.child('plugins').warn(line.message);
  const stopWatchingPlugins = await watchPlugins({ registry, pluginsDir, logger: logger.child('plugins') });
  // Said now rather than at a plugin's first call; not waited for (it runs `python --version`).
  void warnIfPythonMissing({ records: registry.list(), python: config.workers.python, logger: logger.child('workers') });

  const provisioner = createModelProvisioner({
    modelsDir: config.models_dir ?? repoPath('models'),
    offline: config.models.offline,
    mirror: config.models.mirror,
    stalePartHours: config.models.stale_part_hours,
    maxDownloadBytes: config.models.max_download_bytes,
    minFreeBytes: config.models.min_free_bytes,
    bus,
    logger: logger.child('models'),
  });
  await provisioner.cleanStaleParts();

  const settings = await createSettingsStore({
    dataDir,
    defaults: { paused: config.proxy.paused, disabled_sites: config.proxy.disabled_sites, plugin_disabled_sites: {}, plugin_modes: {}, plugin_allowed_secrets: {}, webai_cloud_origins: [] },
    logger: logger.child('settings'),
  });
  const apiPort = await pickPort(config.api.port, config.api.port_range);
  // The gateway's own pages (dashboard, login) never get plugins, even if a browser proxies them:
  // a plugin there could read the dashboard session.
  const injectedInto = (url: string) => (isGatewayOrigin(url, apiPort) ? [] : activePlugins(registry, settings.get(), url));
  const stillActiveOnSite = (origin: string, pluginId: string) => !isGatewayOrigin(origin, apiPort) && activeOnSite(registry, settings.get(), origin, pluginId);
  // The bridge: the proxy proves it forwarded a request with a per-process secret, and each injected
  // document carries a capability for its own plugins on its own origin (see bridge/).
  const bridgeSecret = randomBytes(32).toString('base64url');
  const capabilities = createCapabilityIssuer();
  let proxyPort = 0;
  // Web AI's backends are built-in "plugins" (webai/builtin-plugins.ts): workers, models and limits apply unchanged.
  const webAiBuiltIns = await createWebAiBuiltIns(config.webai);
  const builtInIds = new Set(webAiBuiltIns.all.map((plugin) => plugin.id));
  let webAi: WebAiService | null = null;
  const workers = createWorkerManager({
    // Models are made present (downloaded, verified) before every spawn; failures reach the caller.
    provisionModels: (plugin, signal) => (webAi && builtInIds.has(plugin.id) ? webAi.provisionBuiltIn(plugin, signal) : provisioner.ensure(plugin, { signal })),
    modelsDir: provisioner.modelsDir,
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
  const cloud = createCloudRelay({ settings: () => config.cloud, logger: logger.child('cloud') });
  const budget = createCloudBudget({ limits: () => ({ requestsPerMinute: config.cloud.page_requests_per_minute, maxTokens: config.cloud.page_max_tokens }), bus });
  const router = createInferenceRouter({
    registry,
    local: workers,
    cloud,
    budget,
    userMode: (id) => settings.get().plugin_modes[id],
    fallback: () => config.cloud.fallback,
    logger: logger.child('inference'),
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
    limits: createOriginLimits({ requestsPerMinute: () => config.webai.page_requests_per_minute, maxConcurrent: () => config.webai.page_max_concurrent }),
  });
  const withWebAi = withBuiltIns(registry, webAiBuiltIns.all);
  const dashboardAuth = createDashboardAuth({ cookieName: `aiplugs_session_${apiPort}` });
  const dashboard: DashboardOptions = {
    auth: dashboardAuth,
    token,
    version: VERSION,
    ca,
    dataDir,
    logger: logger.child('dashboard'),
    overview: () => ({ apiUrl: `http://${LOOPBACK}:${apiPort}`, proxyUrl: `http://${LOOPBACK}:${proxyPort}`, apiPort, proxyPort }),
    requestShutdown: () => void stop(),
  };
  const api = createApi({
    version: VERSION,
    token,
    registry,
    activePlugins: injectedInto,
    activeOnSite: stillActiveOnSite,
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
    ca,
    addresses: () => ({ apiPort, proxyPort }),
    mounts: [
      { path: '/api/models', app: modelsRoutes<ApiEnv>(provisioner, withWebAi) },
      { path: '/api/workers', app: workerRoutes(workers, withWebAi) },
      { path: '/api/webai', app: webAiRoutes(webAi, logger.child('webai')) },
      { path: '/api/plugins', app: inferStreamRoutes(router) },
      { path: '/api/plugins', app: modelStatusRoutes(provisioner, registry) },
      { path: '/api/cloud', app: cloudUsageRoutes(budget) },
      { path: '/', app: dashboardPages(dashboard) },
      { path: '/api', app: dashboardApi(dashboard) },
    ],
    isDashboardSession: dashboardAuth.isSession,
  });
  const bridge = createBridgeEntry({ fetch: api.fetch, secret: bridgeSecret, capabilities, maxInFlightPerOrigin: config.api.max_page_requests_in_flight });
  const apiServer = await listen({ fetch: (request, env) => (bridge.handles(request) ? bridge.fetch(request, env) : api.fetch(request, env)) }, apiPort).catch((error: unknown) => {
    throw isAddressInUse(error) ? new PortInUseError('api', apiPort) : error;
  });
  const connections = createConnectionManager({ router, logger: logger.child('ws') });
  const webSockets = attachWebSocketEndpoint(apiServer, {
    connections,
    token,
    registry,
    activeOnSite: stillActiveOnSite,
    capabilities,
    bridgeSecret,
    apiOrigins: () => [`http://${LOOPBACK}:${apiPort}`, `http://localhost:${apiPort}`],
    logger: logger.child('ws'),
  });

  const requestedProxyPort = await pickPort(config.proxy.port, config.proxy.port_range);
  const proxy = await createProxy({
    port: requestedProxyPort,
    ca,
    activePlugins: injectedInto,
    capabilities,
    bridgeSecret,
    logger: logger.child('proxy'),
    version: VERSION,
    apiPort: () => apiPort,
    cspMode: config.proxy.csp_mode,
    maxHeadBytes: config.proxy.max_head_bytes,
    trustedTestHosts: config.proxy.trusted_test_hosts,
    upstreamCaFiles: config.proxy.upstream_ca_files,
    leafCertificates: { cacheSize: config.proxy.leaf_cache_size, mintsPerSecond: config.proxy.leaf_mints_per_second, mintBurst: config.proxy.leaf_mint_burst },
    uploadReplayBytes: config.proxy.upload_replay_bytes,
    webAi: () => (config.webai.enabled ? { replaceNative: config.webai.replace_native } : null),
    servable: ({ plugin }) =>
      servableFromPage(plugin.manifest, { cloudConfigured: config.cloud.base_url !== null, userMode: settings.get().plugin_modes[plugin.id], fallback: config.cloud.fallback }),
  }).catch((error: unknown) => {
    throw isAddressInUse(error) ? new PortInUseError('proxy', requestedProxyPort) : error;
  });
  proxyPort = proxy.port;
  // What was asked for proves nothing: read back where both really listen (loopback or exit).
  assertLoopbackListeners({ API: apiServer.address(), proxy: proxy.address() });

  const info: ReadyInfo = {
    apiUrl: `http://${LOOPBACK}:${apiPort}`,
    apiPort,
    proxyUrl: proxy.url,
    proxyPort,
    caCertPath: ca.certPath,
    caSpki: ca.spki,
    dataDir,
  };
  await writeRuntimeInfo(dataDir, { ...info, pid: process.pid, startedAt: new Date().toISOString() });
  logger.info(`API listening on ${info.apiUrl}, proxy on ${info.proxyUrl}`);
  const systemProxy = systemProxyHooks({ dataDir, logger: logger.child('system-proxy'), env });
  await systemProxy.recoverAfterCrash();

  let markClosed = () => {};
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      logger.info('Shutting down');
      await stopWatchingPlugins();
      // Downloads stop where they are: their .part files resume on the next start.
      await provisioner.close();
      webSockets.close();
      await Promise.allSettled([
        connections.close(),
        workers.stop(),
        proxy.stop(),
        new Promise<void>((resolve) => {
          apiServer.close(() => resolve());
          (apiServer as { closeAllConnections?: () => void }).closeAllConnections?.();
        }),
      ]);
      await systemProxy.restoreOnExit(process.pid);
      await clearRuntimeInfo(dataDir, process.pid);
      logger.info('Stopped');
      await release();
      markClosed();
    })();
    return stopping;
  };
  const loginUrl = () => `${info.apiUrl}/login?code=${dashboardAuth.mintLoginCode()}`;
  return { info, config, token, registry, bus, logger, loginUrl, closed, stop };
}
