/**
 * The compiled gateway's start-up and idle footprint, as a user runs it: `aiplugs start --json`
 * (gateway/bin/aiplugs.js on gateway/dist; run `npm run build` first) with the repository's
 * plugins, on loopback. Per round: wall time from spawn to the JSON ready line, the gateway
 * process's CPU time up to then, and its RSS once idle. The first round starts on an empty data
 * dir (it generates the CA); the later ones reuse it, as every start after the first does.
 * With anything off the worker allowlist in the environment, `aiplugs start` runs the gateway
 * behind a launcher (cli/env-handoff.ts): its start-up is part of the wall time, and the RSS and
 * CPU are the gateway's own (pid from runtime.json). Goals: ready ≤ 1 s, idle RSS ≤ 90 MB.
 * The RSS is read twice: 5 s after the ready line, and once idle (BENCH_START_IDLE_MS after it,
 * 30 s by default), since V8 returns the start-up heap to the system only after some idle seconds
 * (its memory reducer): ~104 MB at 5 s became ~85 MB by 20 s in a trial.
 *
 * Baseline, in the same run and alternating with it round by round: the same gateway loaded as
 * tsc's tree of modules (gateway/dist/cli/main.js), which is what `aiplugs` ran before the
 * one-file bundle (gateway/dist/gateway-cli.js). CPU and RSS are also given as ratios to it.
 *
 * Then the same again with every core busy: one busy loop (a spinning thread) per core
 * for as long as those rounds last, as on a machine that compiles or renders while the gateway
 * starts. Those rounds skip the idle wait: their RSS is read 5 s after the ready line only.
 *
 * Run alone: `node --import tsx bench/gateway/startup.bench.ts`. Env: BENCH_START_ROUNDS
 * (default 4), BENCH_START_BUSY_ROUNDS (default 4; 0 skips them), BENCH_START_IDLE_MS (time
 * idle before the idle RSS is read, default 30000).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { cpuSeconds, REPO, RssProbe } from '../proxy/harness.js';

export interface StartupRow {
  build: string;
  start: string;
  rounds: number;
  'ready (wall, range)': string;
  'gateway CPU to ready (range)': string;
  'RSS 5 s after ready (range)': string;
  'idle RSS (range)': string;
  'CPU vs modules (range)': string;
  'RSS vs modules (range)': string;
  goal: string;
  met: string;
}

/** How the gateway is loaded: `aiplugs` as shipped, or the module tree it was bundled from. */
const BUILDS = {
  bundle: [join(REPO, 'gateway/bin/aiplugs.js')],
  modules: ['--input-type=module', '-e', `const { main } = await import(${JSON.stringify(join(REPO, 'gateway/dist/cli/main.js'))}); await main(['node', 'aiplugs', ...process.argv.slice(1)]);`],
} as const;
type Build = keyof typeof BUILDS;

interface Sample {
  readyMs: number;
  cpuMs: number;
  earlyRssMb: number;
  rssMb: number;
}

async function startOnce(build: Build, dataDir: string, idleMs: number): Promise<Sample> {
  const started = performance.now();
  const child = spawn(process.execPath, [...BUILDS[build], 'start', '--json', '--api-port', '0', '--proxy-port', '0', '--data-dir', dataDir, '--models-dir', join(dataDir, 'models')], {
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
    const probe = new RssProbe(pid);
    const early = Math.min(5000, idleMs);
    await new Promise((resolve) => setTimeout(resolve, early));
    const earlyRssMb = await probe.currentMb();
    await new Promise((resolve) => setTimeout(resolve, idleMs - early));
    const rssMb = await probe.currentMb();
    return { readyMs, cpuMs, earlyRssMb, rssMb };
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

/** One spinning thread per core until `stop`: threads of this process, so they end with it however it ends. */
async function busyCores(): Promise<{ count: number; stop(): Promise<void> }> {
  const loops = Array.from({ length: availableParallelism() }, () => new Worker('for (;;) {}', { eval: true }));
  await Promise.all(loops.map((loop) => once(loop, 'online')));
  return { count: loops.length, stop: async () => void (await Promise.all(loops.map((loop) => loop.terminate()))) };
}

const range = (values: number[], unit: string): string => `${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)} ${unit}`;

const verdict = (values: number[], limit: number) => (Math.max(...values) <= limit ? 'yes' : Math.min(...values) <= limit ? '**no** (some rounds only)' : '**no**');

/** Each round's figure over the baseline's in the same round. */
const ratios = (samples: Sample[], baseline: Sample[], figure: (sample: Sample) => number): string => {
  const values = samples.map((sample, index) => figure(sample) / figure(baseline[index] ?? sample));
  return `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}×`;
};

function row(build: Build, start: string, samples: Sample[], baseline: Sample[]): StartupRow {
  const ready = samples.map((sample) => sample.readyMs);
  const rss = samples.map((sample) => sample.rssMb);
  return {
    build: build === 'bundle' ? 'gateway-cli.js (one-file bundle, as shipped)' : 'dist/cli/main.js (tsc module tree, baseline)',
    start,
    rounds: samples.length,
    'ready (wall, range)': range(ready, 'ms'),
    'gateway CPU to ready (range)': range(samples.map((sample) => sample.cpuMs), 'ms'),
    'RSS 5 s after ready (range)': range(samples.map((sample) => sample.earlyRssMb), 'MB'),
    'idle RSS (range)': range(rss, 'MB'),
    'CPU vs modules (range)': ratios(samples, baseline, (sample) => sample.cpuMs),
    'RSS vs modules (range)': ratios(samples, baseline, (sample) => sample.rssMb),
    goal: 'ready ≤ 1000 ms; idle RSS ≤ 90 MB',
    met: `ready: ${verdict(ready, 1000)}; RSS: ${verdict(rss, 90)}`,
  };
}

/** `rounds` starts of each build, alternating so that both see the same load on a shared machine. */
async function alternate(rounds: number, dirs: Record<Build, string>, idleMs: number): Promise<Record<Build, Sample[]>> {
  const samples: Record<Build, Sample[]> = { bundle: [], modules: [] };
  for (let round = 0; round < rounds; round += 1) {
    const order: Build[] = round % 2 === 0 ? ['modules', 'bundle'] : ['bundle', 'modules'];
    for (const build of order) samples[build].push(await startOnce(build, dirs[build], idleMs));
  }
  return samples;
}

export async function run(options: { rounds?: number; busyRounds?: number; idleMs?: number } = {}): Promise<StartupRow[]> {
  const rounds = options.rounds ?? Number(process.env.BENCH_START_ROUNDS ?? 4);
  const busyRounds = options.busyRounds ?? Number(process.env.BENCH_START_BUSY_ROUNDS ?? 4);
  const idleMs = options.idleMs ?? Number(process.env.BENCH_START_IDLE_MS ?? 30_000);
  const dirs = { bundle: await mkdtemp(join(tmpdir(), 'aiplugs-bench-start-')), modules: await mkdtemp(join(tmpdir(), 'aiplugs-bench-start-')) };
  try {
    const samples = await alternate(rounds, dirs, idleMs);
    const rows = (['modules', 'bundle'] as const).flatMap((build) => [
      row(build, 'first start (empty data dir: generates the CA)', samples[build].slice(0, 1), samples.modules.slice(0, 1)),
      row(build, 'later starts (CA and token exist)', samples[build].slice(1), samples.modules.slice(1)),
    ]);
    if (busyRounds <= 0) return rows;
    const busy = await busyCores();
    let busySamples: Record<Build, Sample[]>;
    try {
      busySamples = await alternate(busyRounds, dirs, Math.min(idleMs, 5000));
    } finally {
      await busy.stop();
    }
    return [
      ...rows,
      ...(['modules', 'bundle'] as const).map((build) => ({
        ...row(build, `later starts, every core busy (${busy.count} busy loops)`, busySamples[build], busySamples.modules),
        // Read 5 s after the ready line: no idle wait under load.
        'idle RSS (range)': '',
        'RSS vs modules (range)': '',
        goal: 'ready ≤ 1000 ms',
        met: `ready: ${verdict(busySamples[build].map((sample) => sample.readyMs), 1000)}`,
      })),
    ];
  } finally {
    await Promise.all(Object.values(dirs).map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.table(await run());
