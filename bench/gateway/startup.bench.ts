/**
 * The compiled gateway's start-up and idle footprint, as a user runs it: `aiplugs start --json`
 * (gateway/bin/aiplugs.js on gateway/dist; run `npm run build` first) with the repository's
 * plugins, on loopback. Per round: wall time from spawn to the JSON ready line, the gateway
 * process's CPU time up to then, and its RSS once idle. The first round starts on an empty data
 * dir (it generates the CA); the later ones reuse it, as every start after the first does.
 * With anything off the worker allowlist in the environment, `aiplugs start` runs the gateway
 * behind a launcher (cli/env-handoff.ts): its start-up is part of the wall time, and the RSS and
 * CPU are the gateway's own (pid from runtime.json). Goals: ready ≤ 1 s, idle RSS ≤ 90 MB.
 *
 * Run alone: `node --import tsx bench/gateway/startup.bench.ts`. Env: BENCH_START_ROUNDS
 * (default 6), BENCH_START_IDLE_MS (settle time before reading RSS, default 5000).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { cpuSeconds, REPO, RssProbe } from '../proxy/harness.js';

export interface StartupRow {
  start: string;
  rounds: number;
  'ready (wall, range)': string;
  'gateway CPU to ready (range)': string;
  'idle RSS (range)': string;
  goal: string;
  met: string;
}

interface Sample {
  readyMs: number;
  cpuMs: number;
  rssMb: number;
}

async function startOnce(dataDir: string, idleMs: number): Promise<Sample> {
  const started = performance.now();
  const child = spawn(process.execPath, [join(REPO, 'gateway/bin/aiplugs.js'), 'start', '--json', '--api-port', '0', '--proxy-port', '0', '--data-dir', dataDir, '--models-dir', join(dataDir, 'models')], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-10_000)));
  try {
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', () => resolve());
      child.once('exit', (code) => reject(new Error(`gateway exited with ${code}:\n${log}`)));
    });
    const readyMs = performance.now() - started;
    const { pid } = JSON.parse(await readFile(join(dataDir, 'runtime.json'), 'utf8')) as { pid: number };
    const cpuMs = (await cpuSeconds(pid)) * 1000;
    await new Promise((resolve) => setTimeout(resolve, idleMs));
    const rssMb = await new RssProbe(pid).currentMb();
    return { readyMs, cpuMs, rssMb };
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

const range = (values: number[], unit: string): string => `${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)} ${unit}`;

function row(start: string, samples: Sample[]): StartupRow {
  const ready = samples.map((sample) => sample.readyMs);
  const rss = samples.map((sample) => sample.rssMb);
  const verdict = (values: number[], limit: number) => (Math.max(...values) <= limit ? 'yes' : Math.min(...values) <= limit ? '**no** (some rounds only)' : '**no**');
  return {
    start,
    rounds: samples.length,
    'ready (wall, range)': range(ready, 'ms'),
    'gateway CPU to ready (range)': range(samples.map((sample) => sample.cpuMs), 'ms'),
    'idle RSS (range)': range(rss, 'MB'),
    goal: 'ready ≤ 1000 ms; idle RSS ≤ 90 MB',
    met: `ready: ${verdict(ready, 1000)}; RSS: ${verdict(rss, 90)}`,
  };
}

export async function run(options: { rounds?: number; idleMs?: number } = {}): Promise<StartupRow[]> {
  const rounds = options.rounds ?? Number(process.env.BENCH_START_ROUNDS ?? 6);
  const idleMs = options.idleMs ?? Number(process.env.BENCH_START_IDLE_MS ?? 5000);
  const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-bench-start-'));
  try {
    const first = await startOnce(dataDir, idleMs);
    const later: Sample[] = [];
    for (let round = 1; round < rounds; round += 1) later.push(await startOnce(dataDir, idleMs));
    return [row('first start (empty data dir: generates the CA)', [first]), row('later starts (CA and token exist)', later)];
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.table(await run());
