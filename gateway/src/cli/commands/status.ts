import type { Command } from 'commander';
import { findRunningGateway, readToken } from '../../browser/gateway-link.js';
import { readRuntimeInfo } from '../../data/data-dir.js';
import { CliError, EXIT } from '../cli-error.js';
import { addDataDirOption, addJsonOption, cliDataDir, print, printJson, type DataDirFlags } from './cli-context.js';

const formatUptime = (seconds: number) => {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h > 0 ? `${h}h ${m}m` : `${m}m ${seconds % 60}s`;
};

/** `aiplugs status`: reads runtime.json, pings the API; exit 0 running, 4 not running. */
export function registerStatusCommand(program: Command): void {
  const command = program
    .command('status')
    .description('show whether the gateway runs, its ports and URLs (exit 4 when it does not run)')
    .option('--token', 'print only the API token (for pairing the extension or scripts)');
  addDataDirOption(command);
  addJsonOption(command);
  command.action(async (flags: DataDirFlags & { token?: boolean }) => {
    const dataDir = cliDataDir(flags);
    if (flags.token) {
      const token = await readToken(dataDir);
      if (!token) throw new CliError(EXIT.notRunning, `No API token in ${dataDir} yet: start the gateway once (aiplugs start)`);
      print(token);
      return;
    }
    const running = await findRunningGateway(dataDir);
    if (!running) {
      const runtime = await readRuntimeInfo(dataDir);
      const reason = runtime ? `runtime.json names pid ${runtime.pid} at ${runtime.apiUrl}, where no gateway of this data dir answers (stale: \`aiplugs doctor --fix\` removes it)` : `no runtime.json in ${dataDir}`;
      if (flags.json) printJson({ running: false, dataDir, reason });
      else print(`AiPlugs gateway: not running (${reason})`, 'Start it with: aiplugs start');
      process.exitCode = EXIT.notRunning;
      return;
    }
    const { runtime, health } = running;
    if (flags.json) {
      printJson({ running: true, ...runtime, version: health.version, uptimeSeconds: health.uptimeSeconds });
      return;
    }
    print(
      `AiPlugs gateway ${health.version}: running (pid ${runtime.pid}, up ${formatUptime(health.uptimeSeconds)})`,
      `  API:       ${runtime.apiUrl}`,
      `  Proxy:     ${runtime.proxyUrl}`,
      `  CA:        ${runtime.caCertPath}`,
      `  SPKI:      ${runtime.caSpki}`,
      `  Data:      ${runtime.dataDir}`,
      `  Dashboard: ${runtime.apiUrl}/  (aiplugs dashboard prints a login link)`,
    );
  });
}
