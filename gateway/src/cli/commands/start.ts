import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { ConfigAssignment } from '../../config/load-config.js';
import { reportCliFailure } from '../cli-error.js';
import { startGateway, type RunningGateway } from '../../gateway.js';
import { detectProxyBackend, setSystemProxy } from '../../system-proxy/system-proxy.js';

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

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('expected a port number 0-65535 (0 = any free port)');
  return port;
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
    .option('--api-port <port>', 'API port (default: first free in 5000-5100; 0 = any)', parsePort)
    .option('--proxy-port <port>', 'proxy port (default: first free in 8080-8180; 0 = any)', parsePort)
    .option('--plugins-dir <dir>', 'plugins folder (default: the repository plugins/)')
    .option('--models-dir <dir>', 'central models folder (default: the repository models/)')
    .option('--data-dir <dir>', 'where the CA, token, runtime.json and logs live')
    .option('--config <file>', 'a user config file layered over config/config.json')
    .option('--json', 'print one JSON ready line on stdout, logs stay on stderr')
    .option('--system-proxy', 'also point the OS proxy settings at the gateway (restored on exit; see `aiplugs proxy`)')
    .action(async (flags: StartFlags) => {
      const gateway = await startGateway({ dataDir: flags.dataDir, configFile: flags.config, overrides: flagAssignments(flags) }).catch((error: unknown) => {
        // A start that failed half-way (a server already listening, plugin watchers) would keep
        // the process alive without a gateway: say why and exit (e.g. not on loopback: exit 1).
        process.exit(reportCliFailure(error));
      });
      const { info } = gateway;
      // Listening before the ready line: whoever reads it may signal at once (a launcher, a test).
      const onSignal = (signal: NodeJS.Signals) => {
        gateway.logger.info(`Received ${signal}`);
        void gateway.stop();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ event: 'ready', ...info })}\n`);
      } else {
        process.stdout.write(
          [
            `AiPlugs gateway is running.`,
            `  API:    ${info.apiUrl}`,
            `  Proxy:  ${info.proxyUrl}   (point your browser here)`,
            `  CA:     ${info.caCertPath}`,
            `  SPKI:   ${info.caSpki}`,
            `  Data:   ${info.dataDir}`,
            `  Dashboard: ${gateway.loginUrl()}`,
            `            (one-time login link; \`aiplugs dashboard\` prints a new one)`,
            `Press Ctrl-C to stop.`,
            '',
          ].join('\n'),
        );
      }
      if (flags.systemProxy) await pointSystemProxyAtGateway(gateway);
      // Ends on a signal, `aiplugs stop` (POST /api/shutdown) or the dashboard's Stop button.
      await gateway.closed;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
}
