import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { parsePathArgument, parsePortArgument } from './cli-context.js';
import type { ConfigAssignment } from '../../config/load-config.js';
import { reportCliFailure } from '../cli-error.js';
import { requestLoginUrl } from '../../browser/gateway-link.js';
import type { RuntimeInfo } from '../../data/data-dir.js';
import { GatewayAlreadyRunningError } from '../../data/data-dir-lock.js';
import { readToken } from '../../data/running-gateway.js';
import { startGateway, type ReadyInfo, type RunningGateway } from '../../gateway.js';
import { tuneGarbageCollector } from '../gc-tuning.js';
import { detectProxyBackend, isProcessAlive, setSystemProxy } from '../../system-proxy/system-proxy.js';

/** `start --system-proxy`: the gateway restores the OS settings itself when it stops. */
async function pointSystemProxyAtGateway(gateway: RunningGateway): Promise<void> {
  const { backend, reason } = await detectProxyBackend();
  if (!backend) {
    gateway.logger.warn(`System proxy not changed: ${reason}`);
    return;
  }
  await setSystemProxy({ dataDir: gateway.info.dataDir, backend, target: { host: '127.0.0.1', port: gateway.info.proxyPort }, gatewayPid: process.pid });
  gateway.logger.info(`System proxy (${backend.name}) now points at ${gateway.info.proxyUrl}; it is restored when the gateway stops`);
}

interface StartFlags {
  apiPort?: number;
  proxyPort?: number;
  pluginsDir?: string;
  modelsDir?: string;
  dataDir?: string;
  config?: string;
  json?: boolean;
  systemProxy?: boolean;
  attach?: boolean;
}

/** Flags become the highest-precedence config layer, named after the flag in error messages. */
export function flagAssignments(flags: StartFlags): ConfigAssignment[] {
  const pairs: Array<[string[], unknown, string]> = [
    [['api', 'port'], flags.apiPort, '--api-port'],
    [['proxy', 'port'], flags.proxyPort, '--proxy-port'],
    [['plugins_dir'], flags.pluginsDir, '--plugins-dir'],
    [['models_dir'], flags.modelsDir, '--models-dir'],
  ];
  return pairs.filter(([, value]) => value !== undefined).map(([path, value, source]) => ({ path, value, source }));
}

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('start the gateway (API + proxy) in the foreground; Ctrl-C stops it')
    .option('--api-port <port>', 'API port (default: first free in 5000-5100; 0 = any)', parsePortArgument)
    .option('--proxy-port <port>', 'proxy port (default: first free in 8080-8180; 0 = any)', parsePortArgument)
    .option('--plugins-dir <dir>', 'plugins folder (default: the repository plugins/)', parsePathArgument)
    .option('--models-dir <dir>', 'central models folder (default: the repository models/)', parsePathArgument)
    .option('--data-dir <dir>', 'where the CA, token, runtime.json and logs live', parsePathArgument)
    .option('--config <file>', 'a user config file layered over config/config.json', parsePathArgument)
    .option('--json', 'print one JSON ready line on stdout, logs stay on stderr')
    .option('--system-proxy', 'also point the OS proxy settings at the gateway (restored on exit; see `aiplugs proxy`)')
    .option('--attach', 'if a gateway already runs for this data dir, print its ready info and stay until it stops (Ctrl-C detaches) instead of exiting 1')
    .action(async (flags: StartFlags) => {
      tuneGarbageCollector();
      const gateway = await startGateway({ dataDir: flags.dataDir, configFile: flags.config, overrides: flagAssignments(flags) }).catch((error: unknown) => {
        if (flags.attach && error instanceof GatewayAlreadyRunningError && error.answering && error.runtime) return error.runtime;
        // A start that failed half-way (a server already listening, plugin watchers) would keep
        // the process alive without a gateway: say why and exit (e.g. not on loopback: exit 1).
        process.exit(reportCliFailure(error));
      });
      if (!('stop' in gateway)) {
        await attachToGateway(gateway, flags);
        return;
      }
      const { info } = gateway;
      // Listening before the ready line: whoever reads it may signal at once (a launcher, a test).
      const onSignal = stopOnSignal(gateway);
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      if (flags.json) process.stdout.write(`${JSON.stringify({ event: 'ready', ...info })}\n`);
      else process.stdout.write(readyText('AiPlugs gateway is running.', info, gateway.loginUrl(), 'Press Ctrl-C to stop.'));
      gateway.warmUp();
      if (flags.systemProxy) await pointSystemProxyAtGateway(gateway);
      // Ends on a signal, `aiplugs stop` (POST /api/shutdown) or the dashboard's Stop button.
      // The handlers stay: a signal that comes after the stop, as the process exits, is no "stop now".
      await gateway.closed;
    });
}

/**
 * How long after the first stop signal another is taken for the same one delivered twice:
 * `timeout`, and a harness that signals a child and then its group, send it to the launcher and
 * to the gateway at once, and the second killed the gateway half-way through stopping (helper-77).
 */
const SIGNAL_ECHO_MS = 2000;

/** The first signal stops the gateway cleanly; another within SIGNAL_ECHO_MS is the same one; a later one (a second Ctrl-C) stops it now. */
function stopOnSignal(gateway: { logger: { info(message: string): void }; stop(): Promise<void>; closed: Promise<unknown> }) {
  let first: number | null = null;
  let stopped = false;
  void gateway.closed.then(() => (stopped = true));
  const onSignal = (signal: NodeJS.Signals) => {
    if (first === null) {
      first = Date.now();
      gateway.logger.info(`Received ${signal}`);
      void gateway.stop();
      return;
    }
    if (Date.now() - first < SIGNAL_ECHO_MS || stopped) return;
    gateway.logger.info(`Received ${signal} again: stopping now`);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.kill(process.pid, signal);
  };
  return onSignal;
}

/** What `start` prints once a gateway is up (its own, or the one it attached to). */
function readyText(heading: string, info: ReadyInfo, loginUrl: string, footer: string): string {
  return [
    heading,
    `  API:    ${info.apiUrl}`,
    `  Proxy:  ${info.proxyUrl}   (point your browser here)`,
    `  CA:     ${info.caCertPath}`,
    `  SPKI:   ${info.caSpki}`,
    `  Data:   ${info.dataDir}`,
    `  Log:    ${join(info.dataDir, 'logs', 'gateway.log')}`,
    `  Dashboard: ${loginUrl}`,
    `            (one-time login link; \`aiplugs dashboard\` prints a new one)`,
    footer,
    '',
  ].join('\n');
}

/**
 * `start --attach` when a gateway already runs: the same ready output (the JSON line adds
 * `"attached": true` and its pid), then this process lives as long as that gateway, the way a
 * foreground `start` does, so a supervisor or test harness sees the same lifetime either way.
 * Ctrl-C / SIGTERM only detach: the gateway belongs to whoever started it (`aiplugs stop` ends it).
 */
async function attachToGateway(runtime: RuntimeInfo, flags: StartFlags): Promise<void> {
  const { pid, startedAt: _startedAt, ...info } = runtime;
  if (flags.json) process.stdout.write(`${JSON.stringify({ event: 'ready', ...info, attached: true, pid })}\n`);
  else {
    const token = await readToken(info.dataDir);
    const loginUrl = token ? await requestLoginUrl(info.apiUrl, token).catch(() => `${info.apiUrl}/ (\`aiplugs dashboard\` prints a login link)`) : `${info.apiUrl}/`;
    process.stdout.write(readyText(`AiPlugs gateway is already running (pid ${pid}); attached to it.`, info, loginUrl, 'Press Ctrl-C to detach (the gateway keeps running; `aiplugs stop` stops it).'));
  }
  const detach = new AbortController();
  const onSignal = () => detach.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    while (isProcessAlive(pid)) await sleep(ATTACH_POLL_MS, undefined, { signal: detach.signal });
    if (!flags.json) process.stdout.write(`The gateway (pid ${pid}) stopped.\n`);
  } catch {
    if (!flags.json) process.stdout.write(`Detached; the gateway (pid ${pid}) keeps running.\n`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const ATTACH_POLL_MS = 500;
