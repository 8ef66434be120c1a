import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { findRunningGateway } from '../../browser/gateway-link.js';
import { clearRuntimeInfo, readRuntimeInfo } from '../../data/data-dir.js';
import { runCommand } from '../../os/run-command.js';
import { isProcessAlive } from '../../system-proxy/system-proxy.js';
import { CliError, EXIT } from '../cli-error.js';
import { addDataDirOption, cliDataDir, print, type DataDirFlags } from './cli-context.js';
import { signedFetch } from '../../pairing/signed-fetch.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** True if pid's command line looks like an AiPlugs gateway (so --force never signals a stranger). */
export async function looksLikeOurGateway(pid: number): Promise<boolean> {
  if (process.platform === 'linux') {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    return /aiplugs/i.test(cmdline) && /\bstart\b/.test(cmdline.replace(/\0/g, ' '));
  }
  if (process.platform === 'darwin') {
    const result = await runCommand({ file: 'ps', args: ['-o', 'command=', '-p', String(pid)] }).catch(() => null);
    return /aiplugs/i.test(result?.stdout ?? '');
  }
  return false;
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isProcessAlive(pid)) return true;
    await sleep(100);
  }
  return !isProcessAlive(pid);
}

/**
 * `aiplugs stop`: asks the running gateway to shut down (token-protected POST /api/shutdown) and
 * waits for its process to exit. `--force` signals the pid from runtime.json when the API does
 * not answer, after checking that the process really is an AiPlugs gateway.
 */
export function registerStopCommand(program: Command): void {
  const command = program
    .command('stop')
    .description('stop the running gateway (exit 4 when none runs)')
    .option('--force', 'if the API does not answer, send SIGTERM to the pid in runtime.json (after checking it is our gateway)')
    .option('--timeout <seconds>', 'how long to wait for it to exit', (value) => Number(value), 20);
  addDataDirOption(command);
  command.action(async (flags: DataDirFlags & { force?: boolean; timeout: number }) => {
    const dataDir = cliDataDir(flags);
    const running = await findRunningGateway(dataDir);
    if (running) {
      const response = await signedFetch(running.runtime.apiUrl, running.token, '/api/shutdown', { method: 'POST' });
      if (response.status !== 202) throw new CliError(EXIT.failure, `The gateway refused to stop (HTTP ${response.status})`);
      if (!(await waitForExit(running.runtime.pid, flags.timeout * 1000))) throw new CliError(EXIT.failure, `Gateway pid ${running.runtime.pid} is still running after ${flags.timeout} s; try again with --force`);
      print(`Stopped the gateway (pid ${running.runtime.pid}).`);
      return;
    }
    const runtime = await readRuntimeInfo(dataDir);
    if (!runtime) throw new CliError(EXIT.notRunning, `No gateway is running for ${dataDir}`);
    if (!isProcessAlive(runtime.pid)) {
      await clearRuntimeInfo(dataDir, runtime.pid);
      throw new CliError(EXIT.notRunning, `No gateway is running (pid ${runtime.pid} is gone); removed its stale runtime.json`);
    }
    if (!flags.force) throw new CliError(EXIT.failure, `Gateway pid ${runtime.pid} does not answer on ${runtime.apiUrl}; \`aiplugs stop --force\` sends it SIGTERM`);
    if (!(await looksLikeOurGateway(runtime.pid))) throw new CliError(EXIT.failure, `pid ${runtime.pid} is not an AiPlugs gateway (the pid was reused?); not signalling it. Remove ${dataDir}/runtime.json if it is stale`);
    process.kill(runtime.pid, 'SIGTERM');
    if (!(await waitForExit(runtime.pid, flags.timeout * 1000))) throw new CliError(EXIT.failure, `Gateway pid ${runtime.pid} ignored SIGTERM for ${flags.timeout} s`);
    await clearRuntimeInfo(dataDir, runtime.pid);
    print(`Stopped the gateway (pid ${runtime.pid}, by signal).`);
  });
}
