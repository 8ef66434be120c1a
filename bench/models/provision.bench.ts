/**
 * Model provisioning throughput and memory: the provisioner (download + SHA-256 in one pass +
 * fsync + atomic rename) against `curl -s URL | sha256sum` on the same 1 GiB file from the same
 * loopback server, in the same run. Goals: ≥ 0.9× curl's throughput, < 150 MB peak RSS.
 *
 * The provisioner runs in a child process, twice per round: bundled with esbuild and run by plain
 * `node` (its own memory), and under the tsx loader as `npm start` runs it (the loader's thread
 * adds a fixed ~40 MB that has nothing to do with downloading).
 *
 * Run: `node --import tsx bench/models/provision.bench.ts` (env BENCH_MODELS_MIB to change the size,
 * BENCH_MODELS_RUNS for the repetitions; medians are reported).
 */
import { spawn } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

export interface ProvisionBenchRow {
  name: string;
  seconds: number;
  mibPerSecond: number;
  /** Throughput relative to `curl | sha256sum` (higher is better); null for the baseline itself. */
  vsCurl: number | null;
  peakRssMb: number | null;
  /** The same process's RSS just before `ensure()` (Node, tsx loader, modules): the fixed part of the peak. */
  rssBeforeMb: number | null;
  goal: string;
}

const WORKER = fileURLToPath(new URL('./provision-worker.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Writes `bytes` of random data in 8 MiB blocks, hashing as it goes (never all in memory). */
async function generateFile(path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(path, 'w');
  const block = Buffer.alloc(8 << 20);
  try {
    for (let written = 0; written < bytes; ) {
      const size = Math.min(block.length, bytes - written);
      const chunk = block.subarray(0, size);
      randomFillSync(chunk);
      hash.update(chunk);
      await handle.write(chunk);
      written += size;
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

async function serveFile(path: string): Promise<{ url: string; close: () => Promise<void> }> {
  const size = (await stat(path)).size;
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-length': size, 'content-type': 'application/octet-stream', etag: '"bench"' });
    createReadStream(path, { highWaterMark: 1 << 20 }).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/model.bin`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function runProcess(command: string, args: string[]): Promise<{ stdout: string; seconds: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve({ stdout, seconds: (performance.now() - started) / 1000 });
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}`));
    });
  });
}

/** Bundles the worker so plain `node` runs it without a TypeScript loader. */
async function bundleWorker(outfile: string): Promise<void> {
  await build({
    entryPoints: [WORKER],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'error',
    // Bundled CommonJS dependencies (proper-lockfile) still call require().
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  });
}

interface WorkerResult {
  seconds: number;
  maxRssBytes: number;
  rssBeforeBytes: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/** Runs the benchmark and returns its rows (also what the top-level bench runner prints). */
export async function run(options: { mib?: number; runs?: number } = {}): Promise<ProvisionBenchRow[]> {
  const mib = options.mib ?? Number(process.env.BENCH_MODELS_MIB ?? 1024);
  const runs = options.runs ?? Number(process.env.BENCH_MODELS_RUNS ?? 3);
  const bytes = mib * 1024 * 1024;
  const dir = await mkdtemp(join(tmpdir(), 'aiplugs-bench-models-'));
  try {
    const source = join(dir, 'source.bin');
    const sha256 = await generateFile(source, bytes);
    const server = await serveFile(source);
    const bundled = join(dir, 'provision-worker.mjs');
    await bundleWorker(bundled);
    const times = { curl: [] as number[], curlToDisk: [] as number[], warm: [] as number[], cold: [] as number[] };
    const runsOf = { bundled: [] as WorkerResult[], tsx: [] as WorkerResult[] };
    const worker = async (how: 'bundled' | 'tsx', modelsDir: string): Promise<WorkerResult> => {
      const input = JSON.stringify({ modelsDir, url: server.url, sha256, filename: 'model.bin' });
      const args = how === 'bundled' ? [bundled, input] : ['--import', 'tsx', WORKER, input];
      const { stdout } = await runProcess(process.execPath, args);
      return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as WorkerResult;
    };
    try {
      for (let i = 0; i < runs; i += 1) {
        // Alternate the contenders so page cache and CPU frequency treat them alike.
        const curl = await runProcess('sh', ['-c', `curl -sS ${server.url} | sha256sum`]);
        if (!curl.stdout.startsWith(sha256)) throw new Error(`curl | sha256sum produced ${curl.stdout.trim()}`);
        times.curl.push(curl.seconds);

        for (const how of ['bundled', 'tsx'] as const) {
          const modelsDir = join(dir, `models-${how}-${i}`);
          runsOf[how].push(await worker(how, modelsDir));
          if (how === 'bundled') {
            // A restart: the verify cache says the file is good without reading it.
            times.warm.push((await worker(how, modelsDir)).seconds);
            // No cache (a file copied in by hand): one full hash, no download.
            await rm(join(modelsDir, '.aiplugs'), { recursive: true, force: true });
            times.cold.push((await worker(how, modelsDir)).seconds);
          }
          await rm(modelsDir, { recursive: true, force: true });
        }

        const target = join(dir, 'curl.bin');
        const toDisk = await runProcess('sh', ['-c', `curl -sS -o ${target} ${server.url} && sha256sum ${target}`]);
        if (!toDisk.stdout.startsWith(sha256)) throw new Error('curl -o && sha256sum produced a wrong hash');
        times.curlToDisk.push(toDisk.seconds);
        await rm(target, { force: true });
      }
    } finally {
      await server.close();
    }
    const curlSeconds = median(times.curl);
    const peak = (results: WorkerResult[], key: 'maxRssBytes' | 'rssBeforeBytes') => Math.max(...results.map((r) => r[key]));
    const row = (name: string, seconds: number, peakRss: number | null, goal: string, baseline = false, rssBefore: number | null = null): ProvisionBenchRow => ({
      name,
      seconds: Math.round(seconds * 1000) / 1000,
      mibPerSecond: Math.round(mib / seconds),
      vsCurl: baseline ? null : Math.round((curlSeconds / seconds) * 100) / 100,
      peakRssMb: peakRss === null ? null : Math.round(peakRss / 1e6),
      rssBeforeMb: rssBefore === null ? null : Math.round(rssBefore / 1e6),
      goal,
    });
    return [
      row(`curl -s URL | sha256sum (${mib} MiB, baseline)`, curlSeconds, null, '', true),
      row(
        'provisioner ensure(), bundled, plain node: download + hash + fsync + rename',
        median(runsOf.bundled.map((r) => r.seconds)),
        peak(runsOf.bundled, 'maxRssBytes'),
        '≥ 0.9× curl, < 150 MB RSS',
        false,
        peak(runsOf.bundled, 'rssBeforeBytes'),
      ),
      row(
        'provisioner ensure() under the tsx loader (as npm start runs it)',
        median(runsOf.tsx.map((r) => r.seconds)),
        peak(runsOf.tsx, 'maxRssBytes'),
        'reference',
        false,
        peak(runsOf.tsx, 'rssBeforeBytes'),
      ),
      row('curl -o file && sha256sum file (download, then verify)', median(times.curlToDisk), null, 'reference'),
      row('ensure() on a present file, verify cache cold (hash only)', median(times.cold), null, 'reference'),
      row('ensure() after a restart, verify cache warm (no read)', median(times.warm), null, 'reference'),
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Renders rows as a markdown table. */
export function toMarkdown(rows: ProvisionBenchRow[]): string {
  const lines = ['| case | seconds | MiB/s | vs curl | peak RSS (MB) | RSS before (MB) | goal |', '| --- | ---: | ---: | ---: | ---: | ---: | --- |'];
  for (const r of rows) lines.push(`| ${r.name.replaceAll('|', '\\|')} | ${r.seconds} | ${r.mibPerSecond} | ${r.vsCurl ?? '—'} | ${r.peakRssMb ?? '—'} | ${r.rssBeforeMb ?? '—'} | ${r.goal} |`);
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await run();
  process.stdout.write(`${toMarkdown(rows)}\n`);
}
