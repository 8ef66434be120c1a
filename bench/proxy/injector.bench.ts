/**
 * The document injector alone, in process: CPU time to inject into 1 MiB documents fed whole
 * (64 KiB chunks, as a fast upstream delivers them) or trickled 100 bytes at a time, for the
 * streaming injector (head-rewriter) against the one it replaced (which held back the head and
 * re-scanned it on every chunk), taken from git at PREVIOUS_COMMIT so no copy of it lives on.
 *
 * Documents: a page with an ordinary 2 KiB head; a head-less page (text, no <head> or <body>);
 * a head that never ends (an unclosed comment), the worst case for the streaming injector, which
 * must then read up to `proxy.max_head_bytes`.
 *
 * Run alone: `node --import tsx bench/proxy/injector.bench.ts`. BENCH_INJECTOR_ROUNDS (default 5)
 * rounds each, after one uncounted warm-up of both injectors on the ordinary page and with a full
 * garbage collection before every run; every counted round is in the range. The previous injector's trickled runs are quadratic and take half a
 * minute each, so they get 2 rounds.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, type Transform } from 'node:stream';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { HeadRewriter } from '../../gateway/src/proxy/head-rewriter.js';
import { buildInjectionMarkup } from '../../gateway/src/proxy/injection-markup.js';
import { MiB, REPO } from './harness.js';

/** The last commit with the previous injector (main before issue #12 point 6). */
const PREVIOUS_COMMIT = 'ec6e1e1';
/** What the proxy injects into a page with no plugins: the inline runtime (~33 KB) with its config. */
const { markup: MARKUP } = buildInjectionMarkup([], { version: '0.0.0', apiPort: 5000, bridgeBase: '/__aiplugs/cap/bench-capability-token', nonce: 'bench-nonce' });
const MAX_HEAD_BYTES = MiB;

interface PreviousModules {
  createHeadRewriter(options: { maxHeadBytes: number; rewrite: (head: Buffer) => Buffer }): Transform;
  findInjectionOffset(bytes: Uint8Array): number | null;
  spliceMarkup(body: Uint8Array, offset: number, markup: string): Buffer;
  findMetaCspTags(text: string): unknown[];
}

/** The previous injector's three modules, written out of git into a temporary folder. */
async function loadPrevious(): Promise<{ create: () => Transform; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'aiplugs-previous-injector-'));
  const modules: Partial<PreviousModules> = {};
  for (const name of ['head-rewriter', 'html-injection', 'meta-csp']) {
    const source = execFileSync('git', ['show', `${PREVIOUS_COMMIT}:gateway/src/proxy/${name}.ts`], { cwd: REPO, encoding: 'utf8' });
    writeFileSync(join(dir, `${name}.ts`), source);
    Object.assign(modules, await import(pathToFileURL(join(dir, `${name}.ts`)).href));
  }
  const previous = modules as PreviousModules;
  return {
    // Its rewrite did what the previous document-plan did with a head: find CSP metas, find the point, splice.
    create: () =>
      previous.createHeadRewriter({
        maxHeadBytes: MAX_HEAD_BYTES,
        rewrite: (head) => {
          previous.findMetaCspTags(head.toString('latin1'));
          return previous.spliceMarkup(head, previous.findInjectionOffset(head) ?? 0, MARKUP);
        },
      }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const fill = (start: string, unit: string) => Buffer.from((start + unit.repeat(Math.ceil(MiB / unit.length))).slice(0, MiB), 'latin1');
const DOCUMENTS = {
  'ordinary page (2 KiB head)': fill(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title>${'<link rel="preload" href="/a.css" as="style">'.repeat(40)}</head><body>`, '<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>\n'),
  'head-less page': fill('<p>', 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '),
  'head that never ends (unclosed comment)': fill('<!doctype html><html><!--', 'x'),
};

function chunks(document: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < document.length; at += size) out.push(document.subarray(at, at + size));
  return out;
}

v8.setFlagsFromString('--expose-gc');
/** A full collection before each run, so one run's garbage is not charged to the next. */
const collectGarbage = vm.runInNewContext('gc') as () => void;

/** CPU milliseconds to push `parts` through a fresh transform and drain it. */
async function cpuMs(create: () => Transform, parts: Buffer[]): Promise<number> {
  collectGarbage();
  const started = process.cpuUsage();
  const transform = create();
  let bytes = 0;
  const done = new Promise<void>((resolve, reject) => {
    transform.on('data', (chunk: Buffer) => (bytes += chunk.length));
    transform.on('end', resolve);
    transform.on('error', reject);
  });
  Readable.from(parts).pipe(transform);
  await done;
  const used = process.cpuUsage(started);
  if (bytes <= MiB) throw new Error('the injector dropped bytes');
  return (used.user + used.system) / 1000;
}

const range = (values: number[]) => {
  const fmt = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(1));
  return `${fmt(Math.min(...values))}–${fmt(Math.max(...values))} ms`;
};

export async function run(): Promise<Array<Record<string, string>>> {
  const rounds = Number(process.env.BENCH_INJECTOR_ROUNDS ?? 5);
  const previous = await loadPrevious();
  const current = () => new HeadRewriter({ maxHeadBytes: MAX_HEAD_BYTES, markup: MARKUP, rewriteMetaCsp: (policy) => policy });
  const rows: Array<Record<string, string>> = [];
  try {
    const warmUp = chunks(DOCUMENTS['ordinary page (2 KiB head)'], 100);
    await cpuMs(current, warmUp);
    await cpuMs(previous.create, warmUp);
    for (const [name, document] of Object.entries(DOCUMENTS)) {
      for (const [feed, size] of [['whole (64 KiB chunks)', 64 * 1024], ['trickled (100 B chunks)', 100]] as const) {
        const parts = chunks(document, size);
        const times = { streaming: [] as number[], previous: [] as number[] };
        for (let round = 0; round < rounds; round += 1) {
          times.streaming.push(await cpuMs(current, parts));
          if (size >= 64 * 1024 || round < 2) times.previous.push(await cpuMs(previous.create, parts));
        }
        // Every pairing of runs: the previous injector's fastest over the streaming one's slowest, and the other way round.
        const ratio = (value: number) => `${value.toFixed(value >= 10 ? 0 : value >= 1 ? 1 : 2)}×`;
        const ratios = `${ratio(Math.min(...times.previous) / Math.max(...times.streaming))}–${ratio(Math.max(...times.previous) / Math.min(...times.streaming))}`;
        rows.push({
          document: `${name}, 1 MiB`,
          feed,
          'streaming injector (CPU per MiB)': range(times.streaming),
          'previous injector (CPU per MiB)': range(times.previous),
          'previous ÷ streaming (range over all runs)': ratios,
        });
        process.stderr.write(`  ${name}, ${feed}: streaming ${range(times.streaming)}, previous ${range(times.previous)}\n`);
      }
    }
  } finally {
    previous.cleanup();
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.table(await run());
}
