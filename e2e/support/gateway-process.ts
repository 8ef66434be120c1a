import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ReadyInfo } from '../../gateway/src/gateway.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(REPO_ROOT, 'gateway/bin/aiplugs.js');

/** The contract's ready line: the gateway's own ReadyInfo, tagged. */
export type ReadyLine = ReadyInfo & { event: 'ready' };

export interface GatewayChild {
  ready: ReadyLine;
  child: ChildProcess;
  /** The gateway's own pid (from runtime.json): `child` may be a launcher in front of it. */
  pid: number;
  dataDir: string;
  /** Everything the gateway wrote to stderr (its log) so far. */
  log: () => string;
  /** The lines it wrote to stdout after the ready line (with `--json`, JSON lines only). */
  stdoutLines: () => string[];
  token: () => Promise<string>;
  stop: () => Promise<number | null>;
}

export interface StartOptions {
  args?: string[];
  env?: NodeJS.ProcessEnv;
  dataDir?: string;
  /** The `aiplugs` bin to run (default: this repository's, which runs the compiled gateway/dist). */
  cli?: string;
  /** Working directory (default: the repository). */
  cwd?: string;
  /** The Node binary to run it with (default: this one). */
  node?: string;
}

/**
 * Starts the gateway exactly as a user would (`aiplugs start --json`), on free ports and a
 * throw-away data dir, and waits for its ready line.
 */
export async function startGatewayProcess(options: StartOptions = {}): Promise<GatewayChild> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'aiplugs-e2e-')));
  const child = spawn(options.node ?? process.execPath, [options.cli ?? CLI, 'start', '--json', '--api-port', '0', '--proxy-port', '0', '--data-dir', dataDir, ...(options.args ?? [])], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, AIPLUGS_PROXY_TRUSTED_TEST_HOSTS: 'localhost', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const later: string[] = [];
  const ready = await new Promise<ReadyLine>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`gateway not ready after 20 s:\n${stderr}`)), 20_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as ReadyLine);
      lines.on('line', (next) => later.push(next));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before ready:\n${stderr}`));
    });
  });
  // A relative dataDir is the gateway's to resolve, against its working directory.
  const dataDirPath = resolve(options.cwd ?? REPO_ROOT, dataDir);
  const runtime = JSON.parse(await readFile(join(dataDirPath, 'runtime.json'), 'utf8')) as { pid: number };
  return {
    ready,
    child,
    pid: runtime.pid,
    dataDir: dataDirPath,
    log: () => stderr,
    stdoutLines: () => [...later],
    token: async () => (await readFile(join(dataDirPath, 'token'), 'utf8')).trim(),
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
        child.kill('SIGTERM');
        const code = await exited;
        if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
        return code;
      }
      return child.exitCode;
    },
  };
}
