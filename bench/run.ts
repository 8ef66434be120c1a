/**
 * `npm run bench`: finds every `bench/**\/*.bench.ts`, imports it, awaits its exported `run()`
 * (which returns an array of plain row objects), prints each module's rows as a markdown table
 * and writes them all to `bench/RESULTS.md`, one section per module.
 *
 *   npm run bench                 # every benchmark
 *   npm run bench -- proxy        # only modules whose path contains "proxy"
 *
 * A filtered run replaces only its own sections in RESULTS.md and keeps the others. A module
 * that throws gets a section with its error, the others still run, and the exit code is 1.
 * Benchmarks run one after another: they measure throughput and RSS, so they must not overlap.
 * A module that cannot run on this machine (a model that is not here) throws a
 * `MissingPrerequisite` (bench/missing-prerequisite.ts): its section says why, without a stack.
 */
import { spawnSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { forgetGatewayMallocTuning, isAllocatorVariable, withGatewayMallocTuning } from '../gateway/src/cli/malloc-tuning.js';
import { cell, markdownTable, type Row } from './markdown-table.js';
import { MissingPrerequisite } from './missing-prerequisite.js';

interface BenchModule {
  run: () => Promise<Row[]> | Row[];
  /** Optional: a module may format its own rows (e.g. with notes under the table). */
  toMarkdown?: (rows: never[]) => string;
}

const BENCH_DIR = fileURLToPath(new URL('./', import.meta.url));
const REPO = fileURLToPath(new URL('../', import.meta.url));
const RESULTS = join(BENCH_DIR, 'RESULTS.md');

async function findBenches(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'node_modules' && !entry.name.startsWith('.')) found.push(...(await findBenches(path)));
    else if (entry.isFile() && entry.name.endsWith('.bench.ts')) found.push(path);
  }
  return found.sort();
}

const machine = () => `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
const load = () => os.loadavg().map((value) => value.toFixed(2)).join(' / ');

interface Section {
  name: string;
  text: string;
}

const START = (name: string) => `<!-- bench:${name} -->`;
const END = '<!-- /bench -->';

/** Sections of an existing RESULTS.md, so a filtered run keeps the others. */
function parseSections(text: string): Section[] {
  const sections: Section[] = [];
  const pattern = /<!-- bench:(.+?) -->\n([\s\S]*?)<!-- \/bench -->/g;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) sections.push({ name: match[1]!, text: match[2]! });
  return sections;
}

async function runOne(path: string): Promise<{ section: Section; ok: boolean }> {
  const name = relative(REPO, path);
  const startedAt = new Date();
  const loadBefore = load();
  process.stderr.write(`\n▶ ${name}\n`);
  const started = performance.now();
  let body: string;
  let ok = true;
  try {
    const module = (await import(pathToFileURL(path).href)) as Partial<BenchModule>;
    if (typeof module.run !== 'function') throw new Error('exports no run()');
    const rows = await module.run();
    body = module.toMarkdown ? module.toMarkdown(rows as never[]) : markdownTable(rows);
  } catch (error) {
    ok = false;
    body = error instanceof MissingPrerequisite ? `**Not run:** ${error.message}` : `**Failed:** ${cell((error as Error).stack ?? error)}`;
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  const text = `## ${name}\n\n${body}\n\n_Run ${startedAt.toISOString()} in ${seconds} s; load average (1/5/15 min) ${loadBefore} before, ${load()} after._\n\n`;
  process.stdout.write(`\n${text}`);
  return { section: { name, text }, ok };
}

/**
 * The direct baselines (bench/proxy's origin and client live in this process) are Node like the
 * gateway: they run with the gateway's allocator setting, or in some runs they pay the page-fault
 * churn it removes (gateway/src/cli/malloc-tuning.ts) and a ratio measures the allocator, not the
 * proxy. Re-executes this script with it; what the benchmarks start gets the environment as it was.
 */
function withBaselineAllocatorSetting(): boolean {
  if (process.env.AIPLUGS_BENCH_TUNED === '1') {
    delete process.env.AIPLUGS_BENCH_TUNED;
    forgetGatewayMallocTuning(process.env);
    return false;
  }
  const env = Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  if (process.platform !== 'linux' || Object.keys(env).some(isAllocatorVariable)) return false;
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...withGatewayMallocTuning(env, 'linux'), AIPLUGS_BENCH_TUNED: '1' } });
  if (child.error) throw child.error;
  if (child.signal) process.kill(process.pid, child.signal); // end the same way, as a shell would see it
  process.exitCode = child.status ?? 1;
  return true;
}

async function main(): Promise<void> {
  if (withBaselineAllocatorSetting()) return;
  const filters = process.argv.slice(2);
  const benches = (await findBenches(BENCH_DIR)).filter((path) => filters.length === 0 || filters.some((filter) => relative(REPO, path).includes(filter)));
  if (benches.length === 0) throw new Error(`no bench/**/*.bench.ts matches ${filters.join(', ')}`);
  const fresh = new Map<string, Section>();
  let failed = 0;
  for (const path of benches) {
    const { section, ok } = await runOne(path);
    fresh.set(section.name, section);
    if (!ok) failed += 1;
  }
  const previous = filters.length > 0 ? parseSections(await readFile(RESULTS, 'utf8').catch(() => '')) : [];
  const names = [...new Set([...previous.map((section) => section.name), ...fresh.keys()])].sort();
  const sections = names.map((name) => fresh.get(name) ?? previous.find((section) => section.name === name)!);
  const header = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (bench/run.ts); each section comes from one `bench/**/*.bench.ts` module.',
    'Numbers are from one machine: compare ratios within a section, not across machines. A benchmark that runs rounds quotes ranges over all of them, not the best.',
    `Last run: ${new Date().toISOString()} on ${machine()}.`,
    '',
  ].join('\n');
  await writeFile(RESULTS, `${header}\n${sections.map((section) => `${START(section.name)}\n${section.text}${END}`).join('\n\n')}\n`);
  process.stderr.write(`\nWrote ${relative(REPO, RESULTS)}${failed ? ` (${failed} benchmark(s) failed)` : ''}\n`);
  if (failed) process.exitCode = 1;
}

await main();
