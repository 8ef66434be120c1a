import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createCapabilityIssuer } from './bridge/page-capability.js';
import { ensureCertificateAuthority } from './ca/certificate-authority.js';
import type { GatewayConfig } from './config/config-schema.js';
import { loadConfig, type ConfigAssignment } from './config/load-config.js';
import { clearRuntimeInfo, ensureApiToken, prepareDataDir, resolveDataDir, writeRuntimeInfo } from './data/data-dir.js';
import { lockDataDir } from './data/data-dir-lock.js';
import { restrictUmask } from './data/restrict-umask.js';
import { createEventBus, type EventBus } from './events/event-bus.js';
import { openLogFile, type LogFile } from './events/log-file.js';
import { createLogger, type Logger } from './events/logger.js';
import { assertTrustedModelsFolder } from './models/model-folder.js';
import { createModelProvisioner } from './models/model-provisioner.js';
import { provisionerOptionsFromConfig } from './models/provisioner-settings.js';
import { assertLoopbackListeners } from './net/assert-loopback.js';
import { LOOPBACK, pickPort } from './net/pick-port.js';
import { assertPinnedPortsFree } from './net/port-in-use.js';
import type { PluginRegistry } from './plugins/plugin-registry.js';
import { assertMockttpPatched } from './proxy/mockttp-patch-check.js';
import { activeOnSite, isGatewayOrigin } from './settings/active-plugins.js';
import { createActivePluginsCache } from './settings/active-plugins-cache.js';
import { createSettingsStore } from './settings/settings-store.js';
import { startApiServer } from './startup/api-server.js';
import { createGatewayApi } from './startup/gateway-api.js';
import { startGatewayProxy } from './startup/gateway-proxy.js';
import { createShutdown } from './startup/gateway-stop.js';
import { createInferenceServices } from './startup/inference-services.js';
import { assertPluginsFolder, loadPlugins } from './startup/load-plugins.js';
import { systemProxyHooks } from './system-proxy/gateway-hooks.js';
import { warnIfPythonMissing } from './workers/python-check.js';
import { repoPath } from './package-paths.js';

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
  /**
   * Starts what the gateway needs only later (leaf minting for the first HTTPS site) and says
   * what it will lack (no Python for a plugin's backend): call it after the ready line.
   */
  warmUp(): void;
  stop(): Promise<void>;
}


/**
 * The composition root: loads config, data dir, CA and plugins, then starts the API and the proxy
 * on 127.0.0.1 and wires every capability together. Dependencies point inward: the API and the
 * proxy use the registry and the router; nothing below them knows they exist.
 */
export async function startGateway(options: StartGatewayOptions = {}): Promise<RunningGateway> {
  // Before anything listens: an unpatched mockttp would listen on every interface.
  await assertMockttpPatched({ rootPackageJson: repoPath('package.json') });
  // Before the gateway makes anything: nothing it makes is writable by others (restrict-umask.ts).
  restrictUmask();
  const env = options.env ?? process.env;
  const dataDir = resolveDataDir(options.dataDir, env);
  // Before anything in it is read: only the user's own data dir (assertOwnDataDir).
  await prepareDataDir(dataDir, { ownOnly: true });
  const defaultUserConfig = join(dataDir, 'config.json');
  const userFile = options.configFile ?? env.AIPLUGS_CONFIG ?? (existsSync(defaultUserConfig) ? defaultUserConfig : null);
  // loadConfig runs before the logger exists (the config sets its level): its notices wait for it.
  const notices: string[] = [];
  const config = await loadConfig({ userFile, env, overrides: options.overrides ?? [], onNotice: (message) => notices.push(message) });

  const bus = createEventBus({ activityHistory: config.logs.activity_events });
  // Every line goes to stderr (or the caller's writeLog) and, once this process owns the data dir, to logs/.
  const writeStderr = options.writeLog ?? ((line: string) => process.stderr.write(`${line}\n`));
  const logSecrets: Array<string | null> = [config.cloud.api_key];
  let logFile: LogFile | null = null;
  const logger = createLogger({ bus, level: config.log_level, write: (line) => (writeStderr(line), logFile?.write(line)), secrets: () => logSecrets });
  for (const notice of notices) logger.info(notice);
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

/** Stops the workers, then closes the API, even if stopping them failed. */
async function stopWorkersThen(workers: { stop(): Promise<void> }, close: () => Promise<void>): Promise<void> {
  try {
    await workers.stop();
  } finally {
    await close();
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
  await assertPluginsFolder(config);
  const modelsDir = config.models_dir ?? repoPath('models');
  await assertTrustedModelsFolder(modelsDir);
  const token = await ensureApiToken(dataDir, (reason) => logger.warn(reason));
  logSecrets.push(token);
  const ca = await ensureCertificateAuthority({ dataDir, lifetimeDays: config.ca.lifetime_days, renewBeforeDays: config.ca.renew_before_days, logger: logger.child('ca') });
  const { registry, stopWatching: stopWatchingPlugins } = await loadPlugins(config, logger);

  const provisioner = createModelProvisioner({
    modelsDir,
    ...provisionerOptionsFromConfig(config.models),
    bus,
    logger: logger.child('models'),
  });
  await provisioner.cleanStaleParts();

  const settings = await createSettingsStore({
    dataDir,
    defaults: { paused: config.proxy.paused, disabled_sites: config.proxy.disabled_sites, plugin_disabled_sites: {}, plugin_modes: {}, plugin_allowed_secrets: {}, webai_cloud_origins: [] },
    logger: logger.child('settings'),
  });
  // Open dashboards redraw switches and per-plugin rules changed elsewhere (the extension's popup, the API).
  settings.onChange(() => bus.emit({ type: 'settings' }));
  const apiPort = await pickPort(config.api.port, config.api.port_range);
  // The gateway's own pages (dashboard, login) never get plugins, even if a browser proxies them:
  // a plugin there could read the dashboard session.
  const activeOn = createActivePluginsCache(registry, () => settings.get());
  const injectedInto = (url: string) => (isGatewayOrigin(url, apiPort) ? [] : activeOn(url));
  const stillActiveOnSite = (origin: string, pluginId: string) => !isGatewayOrigin(origin, apiPort) && activeOnSite(registry, settings.get(), origin, pluginId);
  // The bridge: the proxy proves it forwarded a request with a per-process secret, and each injected
  // document carries a capability for its own plugins on its own origin (see bridge/).
  const bridgeSecret = randomBytes(32).toString('base64url');
  const capabilities = createCapabilityIssuer();
  let proxyPort = 0;
  const { workers, router, budget, webAi, withWebAi } = await createInferenceServices({ config, env, token, registry, settings, provisioner, bus, logger, apiPort });
  const { api, dashboardAuth, closeBrowsers } = createGatewayApi({
    ...{ config, env, token, dataDir, ca, registry, withWebAi, settings, router, workers, provisioner, webAi, budget, capabilities, bus, logger, apiPort },
    proxyPort: () => proxyPort,
    injectedInto,
    stillActiveOnSite,
    requestShutdown: () => void stop(),
  });
  const apiServer = await startApiServer({ api, apiPort, config, token, registry, router, capabilities, bridgeSecret, stillActiveOnSite, logger });
  const proxy = await startGatewayProxy({ config, dataDir, ca, apiPort, registry, settings, bus, activePlugins: injectedInto, capabilities, bridgeSecret, bridgeFetch: apiServer.bridgeFetch, logger });
  proxyPort = proxy.port;
  // What was asked for proves nothing: read back where both really listen (loopback or exit).
  assertLoopbackListeners({ API: apiServer.server.address(), proxy: proxy.address() });

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

  const { stop, closed } = createShutdown({
    logger,
    // Downloads stop where they are: their .part files resume on the next start.
    first: [stopWatchingPlugins, () => provisioner.close(), closeBrowsers, () => apiServer.webSockets.close()],
    // The API closes once the workers have stopped: a direct caller's running call is answered
    // 503 shutting_down by then, not cut off with an empty reply (a page's goes through the proxy,
    // which stops meanwhile).
    together: [
      () => apiServer.connections.close(),
      // Event streams end first, after the workers' last states: a dashboard sees them end, not cut off.
      () =>
        stopWorkersThen(workers, async () => {
          bus.close();
          await apiServer.close();
        }),
      () => proxy.stop(),
    ],
    cleanUp: [() => systemProxy.restoreOnExit(process.pid), () => clearRuntimeInfo(dataDir, process.pid)],
    release,
  });
  const loginUrl = () => `${info.apiUrl}/login?code=${dashboardAuth.mintLoginCode()}`;
  const warmUp = () => {
    proxy.warmUp();
    // Said at start rather than at a plugin's first call, but after the ready line: it runs
    // `python --version`, a process start that a start on a busy machine would wait behind.
    void warnIfPythonMissing({ records: registry.list(), python: config.workers.python, logger: logger.child('workers') });
  };
  return { info, config, token, registry, bus, logger, loginUrl, closed, stop, warmUp };
}
