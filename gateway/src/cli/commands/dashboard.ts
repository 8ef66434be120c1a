import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
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

const OPENER_FILE = 'open-dashboard.html';

/** A page that sends a browser on to `url` at once; the URL is ours (`http://127.0.0.1:<port>/login?code=<base64url>`), so only `&` needs escaping. */
const redirectPage = (url: string) => {
  const href = url.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
  return `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0; url=${href}"><title>AiPlugs dashboard</title><p><a href="${href}">Open the AiPlugs dashboard</a></p>\n`;
};

/**
 * What `--open` hands the system's opener: a page in the data dir, readable by you alone, that
 * sends the browser on to the one-time link. The opener's and the browser's command lines, which
 * every local account can read (/proc/<pid>/cmdline), then name that file, never the link.
 */
export async function writeDashboardOpener(dataDir: string, url: string): Promise<string> {
  const path = join(dataDir, OPENER_FILE);
  await rm(path, { force: true });
  await writeFile(path, redirectPage(url), { mode: 0o600, flag: 'wx' });
  return path;
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
    if (flags.open) await runCommand(openUrlCommand(pathToFileURL(await writeDashboardOpener(cliDataDir(flags), url)).href));
  });
}
