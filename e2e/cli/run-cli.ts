import { CLI, REPO_ROOT } from '../support/gateway-process.js';
import { runProcess, type ProcessResult } from '../support/run-process.js';

export type CliResult = ProcessResult;

/** Runs `aiplugs …` as a user would, with extra environment, and collects its output. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<CliResult> {
  return runProcess(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, input });
}

/** Processes whose command line mentions `needle` (Linux /proc), for "nothing left behind" checks. */
export async function processesMentioning(needle: string): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(needle)) pids.push(Number(entry));
  }
  return pids;
}
