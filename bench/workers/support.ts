/**
 * Shared helpers for the worker/connection benchmarks: start the real gateway CLI as a child (so
 * the load generator does not share its event loop), time things, read a process's RSS and
 * socket count from /proc (Linux; null elsewhere).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(REPO, 'gateway/bin/aiplugs.js');
export const FIXTURE_PLUGINS = join(REPO, 'gateway/src/workers/fixtures/plugins');

export interface GatewayChild {
  child: ChildProcess;
  /** The gateway process to measure (not necessarily `child`). */
  pid: number;
  apiUrl: string;
  apiPort: number;
  token: string;
  stop(): Promise<void>;
}

export async function startGatewayChild(env: NodeJS.ProcessEnv = {}): Promise<GatewayChild> {
  const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-bench-'));
  const child = spawn(process.execPath, [CLI, 'start', '--json', '--api-port', '0', '--proxy-port', '0', '--data-dir', dataDir, '--plugins-dir', FIXTURE_PLUGINS, '--models-dir', join(dataDir, 'models')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AIPLUGS_LOG_LEVEL: 'warn', ...env },
  });
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const ready = await new Promise<{ apiUrl: string; apiPort: number }>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line) as { apiUrl: string; apiPort: number }));
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}:\n${log}`)));
  });
  const token = (await readFile(join(dataDir, 'token'), 'utf8')).trim();
  // The gateway's own pid: with secrets in the environment `child` is a launcher in front of it.
  const { pid } = JSON.parse(await readFile(join(dataDir, 'runtime.json'), 'utf8')) as { pid: number };
  return {
    child,
    pid,
    ...ready,
    token,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A keep-alive JSON POST client (node:http: lower overhead than fetch, so it measures the gateway). */
export function jsonClient(baseUrl: string, token: string, maxSockets: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const url = new URL(baseUrl);
  return {
    post(path: string, body: unknown): Promise<{ status: number; text: string }> {
      const data = JSON.stringify(body);
      return new Promise((resolve, reject) => {
        const request = http.request(
          { host: url.hostname, port: url.port, path, method: 'POST', agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } },
          (response) => {
            let text = '';
            response.setEncoding('utf8');
            response.on('data', (chunk: string) => (text += chunk));
            response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
          },
        );
        request.on('error', reject);
        request.end(data);
      });
    },
    close: () => agent.destroy(),
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function summarize(samplesMs: number[]) {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  return { p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
}

/** Resident set size in MB from /proc/<pid>/status. */
export async function rssMb(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return Number.isFinite(kb) ? Math.round(kb / 102.4) / 10 : null;
  } catch {
    return null;
  }
}

/** Open sockets of a process (its fds that are sockets), from /proc/<pid>/fd. */
export async function socketCount(pid: number): Promise<number | null> {
  try {
    const fds = await readdir(`/proc/${pid}/fd`);
    const targets = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
    return targets.filter((target) => target.startsWith('socket:')).length;
  } catch {
    return null;
  }
}

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat. */
export async function cpuMs(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 (1-based) of the whole line; 12 and 13 after "(comm) ".
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}
