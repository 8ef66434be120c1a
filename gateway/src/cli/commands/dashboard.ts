import type { Command } from 'commander';
import { findRunningGateway, requestLoginUrl } from '../../browser/gateway-link.js';
import { runCommand, type Command as OsCommand } from '../../os/run-command.js';
import { CliError, EXIT } from '../cli-error.js';
import { addDataDirOption, cliDataDir, print, type DataDirFlags } from './cli-context.js';

/** How each OS opens a URL in the user's default browser. */
export function openUrlCommand(url: string, platform: NodeJS.Platform = process.platform): OsCommand {
  if (platform === 'darwin') return { file: 'open', args: [url] };
  if (platform === 'win32') return { file: 'cmd', args: ['/c', 'start', '', url.replace(/&/g, '^&')] }; // '' = the window title start wants first
  return { file: 'xdg-open', args: [url] };
}

/** `aiplugs dashboard`: a fresh one-time login link to the running gateway's dashboard. */
export function registerDashboardCommand(program: Command): void {
  const command = program
    .command('dashboard')
    .description('print a one-time login link to the dashboard of the running gateway')
    .option('--open', 'also open it in your default browser');
  addDataDirOption(command);
  command.action(async (flags: DataDirFlags & { open?: boolean }) => {
    const running = await findRunningGateway(cliDataDir(flags));
    if (!running) throw new CliError(EXIT.notRunning, 'No gateway is running; start it with `aiplugs start`');
    const url = await requestLoginUrl(running.runtime.apiUrl, running.token);
    print(url);
    if (flags.open) await runCommand(openUrlCommand(url));
  });
}
