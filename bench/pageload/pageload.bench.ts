/**
 * A page's load event in real Chromium, direct and through each proxy, on loopback (issue #15:
 * ≤ 1.25× direct through the gateway with one plugin). The pages come from bench/pageload/corpus.ts
 * (shaped like real ones: ~70 requests over three origins, gzip text, fonts, iframes), served by
 * three loopback sites over HTTP and over HTTPS.
 *
 * Every load is a fresh browser context (an empty cache, as on a first visit); the load time is
 * the page's own Navigation Timing (`loadEventStart`). Paths are tried in a shuffled order for
 * each page in each round, so a noisy second hits them all alike. Per round, a path's ratio is the
 * median over pages of (its load ÷ the direct load of the same page in that round), and its p90
 * likewise; the table quotes the range of those over rounds, never the best. Proxy CPU per page
 * is the proxy process's CPU time (user + system, /proc) over a round's loads ÷ their number.
 *
 * Paths: direct; the gateway as shipped with one `document_start` plugin matching every page
 * (bench/proxy/fixtures/plugins: its file runs before the page's scripts, written inline into the
 * document, so it holds the parser for no request); the same with
 * one plugin at the default `document_idle` (bench/pageload/fixtures/idle-plugin, like the example
 * plugins: loaded after DOMContentLoaded); the gateway with no plugin (the proxy hop alone, to
 * tell the hop's cost from the injection's); mitmdump with the equivalent inject addon, when installed.
 *
 * Run alone: `node --import tsx bench/pageload/pageload.bench.ts`. Env: BENCH_PAGES (default 24),
 * BENCH_PAGE_ROUNDS (default 3), BENCH_PAGE_SCHEMES (default "http,https").
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser } from '@playwright/test';
import { generateCACertificate } from 'mockttp';
import { findBrowser } from '../../gateway/src/browser/find-browser.js';
import { MissingPrerequisite } from '../missing-prerequisite.js';
import { cpuSeconds, startGateway, startMitmdump, type ProxyChild } from '../proxy/harness.js';
import { generateCorpus, type Corpus, type OriginName } from './corpus.js';
import { QUIET_CHROMIUM_ARGS } from '../../e2e/support/chromium.js';

export interface PageLoadRow {
  scheme: string;
  path: string;
  pages: number;
  rounds: number;
  'load event, median over pages (range over rounds)': string;
  /** When the bench plugin's content script ran, after navigation start (injected paths only). */
  'plugin ran, median over pages (range over rounds)': string;
  'vs direct: median over pages (range over rounds)': string;
  'vs direct: p90 over pages (range over rounds)': string;
  'proxy CPU per page (range over rounds)': string;
  goal: string;
  met: string;
}

type Scheme = 'http' | 'https';
const IDLE_PLUGIN = fileURLToPath(new URL('./fixtures/idle-plugin/', import.meta.url));
const ORIGINS: OriginName[] = ['site', 'cdn', 'third'];

interface Sites {
  base: Record<OriginName, string>;
  close(): Promise<void>;
}

/** Three loopback origins serving the corpus (gzip where the asset is text, as real servers do). */
async function startSites(scheme: Scheme, corpusFor: (base: Record<OriginName, string>) => Corpus): Promise<Sites & { corpus: Corpus }> {
  let corpus: Corpus | null = null;
  const cert = scheme === 'https' ? await generateCACertificate({ subject: { commonName: 'localhost' } }) : null;
  const servers = ORIGINS.map((origin) => {
    const handle = (request: IncomingMessage, response: ServerResponse): void => {
      const asset = corpus?.assets.get(`${origin}:${new URL(request.url ?? '/', 'http://x').pathname}`);
      if (!asset) return void response.writeHead(404).end();
      response.writeHead(200, {
        'content-type': asset.type,
        'content-length': asset.body.length,
        'cache-control': asset.type.startsWith('text/html') ? 'no-cache' : 'max-age=3600',
        'access-control-allow-origin': '*',
        ...(asset.gzip ? { 'content-encoding': 'gzip', vary: 'accept-encoding' } : {}),
      });
      response.end(asset.body);
    };
    const server = cert ? https.createServer({ key: cert.key, cert: cert.cert }, handle) : http.createServer(handle);
    server.keepAliveTimeout = 60_000;
    return server;
  });
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))));
  const base = Object.fromEntries(ORIGINS.map((origin, index) => [origin, `${scheme}://127.0.0.1:${(servers[index]!.address() as AddressInfo).port}`])) as Record<OriginName, string>;
  corpus = corpusFor(base);
  return {
    base,
    corpus,
    close: async () => {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}

interface Contender {
  name: string;
  proxy: ProxyChild | null;
  browser: Browser;
  /** Checks a loaded page went through this path as meant (injected or not). */
  injected: boolean;
  /** The path issue #15's target is for (≤ 1.25× direct). */
  goal?: boolean;
}

async function launch(executablePath: string, proxy: ProxyChild | null): Promise<Browser> {
  const args = proxy ? [`--proxy-server=http://127.0.0.1:${proxy.port}`, '--proxy-bypass-list=<-loopback>'] : [];
  return chromium.launch({ executablePath, args: [...args, ...QUIET_CHROMIUM_ARGS] });
}

type BenchWindow = { AiPlugs?: unknown; __benchInjected?: number };

/**
 * One load in a fresh context: the page's `loadEventStart` and when the bench plugin's content
 * script ran (ms after navigation start; NaN when it did not), and whether the page was injected. A
 * `document_idle` plugin may run after the load event, so an injected page is given up to 10 s for it.
 */
async function loadOnce(browser: Browser, url: string, injected: boolean): Promise<{ ms: number; ran: number; injected: boolean }> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  try {
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'load', timeout: 60_000 });
    if (injected) await page.waitForFunction(() => typeof (window as unknown as BenchWindow).__benchInjected === 'number', null, { timeout: 10_000 }).catch(() => undefined);
    return await page.evaluate(() => {
      const [entry] = performance.getEntriesByType('navigation') as PerformanceNavigationTiming[];
      // Injected: the runtime ran, and so did the bench plugin's content script (it records when).
      const page = window as unknown as BenchWindow;
      const ran = typeof page.__benchInjected === 'number' ? page.__benchInjected : NaN;
      return { ms: entry!.loadEventStart, ran, injected: typeof page.AiPlugs === 'object' && !Number.isNaN(ran) };
    });
  } finally {
    await context.close();
  }
}

const median = (values: number[]) => quantile(values, 0.5);
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  return sorted[low]! + (sorted[Math.ceil(at)]! - sorted[low]!) * (at - low);
}
const range = (values: number[], digits: number, unit: string) => `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}${unit}`;

function shuffle<T>(items: T[]): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1));
    [copy[index], copy[other]] = [copy[other]!, copy[index]!];
  }
  return copy;
}

async function measureScheme(scheme: Scheme, contenders: Contender[], pageCount: number, rounds: number): Promise<PageLoadRow[]> {
  const sites = await startSites(scheme, (base) => generateCorpus(pageCount, base));
  const pages = sites.corpus.pages;
  // loads[contender][round][page]
  const loads = contenders.map(() => Array.from({ length: rounds }, () => new Array<number>(pages.length).fill(NaN)));
  const ran = contenders.map(() => Array.from({ length: rounds }, () => new Array<number>(pages.length).fill(NaN)));
  const cpu = contenders.map(() => new Array<number>(rounds).fill(0));
  try {
    // One unmeasured pass warms every path (the gateway's hot code, each browser's process pool).
    for (const contender of contenders) for (const page of pages.slice(0, 5)) await loadOnce(contender.browser, `${sites.base.site}${page.path}`, contender.injected);
    for (let round = 0; round < rounds; round++) {
      for (const [index, page] of pages.entries()) {
        for (const which of shuffle(contenders.map((_, at) => at))) {
          const contender = contenders[which]!;
          const before = contender.proxy ? await cpuSeconds(contender.proxy.pid) : 0;
          const result = await loadOnce(contender.browser, `${sites.base.site}${page.path}`, contender.injected);
          if (contender.proxy) cpu[which]![round]! += (await cpuSeconds(contender.proxy.pid)) - before;
          if (result.injected !== contender.injected) throw new Error(`${contender.name}: ${page.path} was ${result.injected ? '' : 'not '}injected`);
          loads[which]![round]![index] = result.ms;
          ran[which]![round]![index] = result.ran;
        }
      }
      process.stderr.write(`  ${scheme} round ${round + 1}/${rounds} done\n`);
    }
  } finally {
    await sites.close();
  }
  const direct = loads[0]!;
  const requests = pages.map((page) => page.requests);
  return contenders.map((contender, which) => {
    const perRound = loads[which]!;
    const ratios = perRound.map((round, at) => round.map((ms, page) => ms / direct[at]![page]!));
    const isGateway = contender.goal === true;
    const medians = ratios.map((round) => median(round));
    return {
      scheme: scheme.toUpperCase(),
      path: which === 0 ? `direct (baseline; ${median(requests)} requests per page, median)` : contender.name,
      pages: pages.length,
      rounds,
      'load event, median over pages (range over rounds)': range(perRound.map((round) => median(round)), 0, ' ms'),
      'plugin ran, median over pages (range over rounds)': contender.injected ? range(ran[which]!.map((round) => median(round)), 0, ' ms') : '',
      'vs direct: median over pages (range over rounds)': which === 0 ? '' : range(medians, 2, '×'),
      'vs direct: p90 over pages (range over rounds)': which === 0 ? '' : range(ratios.map((round) => quantile(round, 0.9)), 2, '×'),
      'proxy CPU per page (range over rounds)': contender.proxy ? range(cpu[which]!.map((seconds) => (seconds / pages.length) * 1000), 0, ' ms') : '',
      goal: isGateway ? '≤ 1.25× direct (median)' : '',
      met: isGateway ? (Math.max(...medians) <= 1.25 ? 'yes' : Math.min(...medians) <= 1.25 ? '**no** (some rounds only)' : '**no**') : '',
    };
  });
}

export async function run(): Promise<PageLoadRow[]> {
  const pageCount = Number(process.env.BENCH_PAGES ?? 24);
  const rounds = Number(process.env.BENCH_PAGE_ROUNDS ?? 3);
  const schemes = (process.env.BENCH_PAGE_SCHEMES ?? 'http,https').split(',') as Scheme[];
  const executablePath = (await findBrowser())?.path;
  if (!executablePath) throw new MissingPrerequisite('No Chromium found: install Debian\'s `chromium` (or set AIPLUGS_BROWSER to a Chromium or Chrome).');
  const emptyPlugins = await mkdtemp(join(tmpdir(), 'aiplugs-bench-noplugins-'));
  const gateway = await startGateway({ env: { AIPLUGS_LOG_LEVEL: 'warn' } });
  const bare = await startGateway({ env: { AIPLUGS_LOG_LEVEL: 'warn' }, pluginsDir: emptyPlugins });
  const idle = await startGateway({ env: { AIPLUGS_LOG_LEVEL: 'warn' }, pluginsDir: IDLE_PLUGIN });
  const mitm = await startMitmdump();
  const contenders: Contender[] = [];
  try {
    contenders.push({ name: 'direct', proxy: null, browser: await launch(executablePath, null), injected: false });
    contenders.push({ name: 'gateway, one document_start plugin (as shipped)', proxy: gateway, browser: await launch(executablePath, gateway), injected: true, goal: true });
    contenders.push({ name: 'gateway, one document_idle plugin (as shipped)', proxy: idle, browser: await launch(executablePath, idle), injected: true, goal: true });
    contenders.push({ name: 'gateway, no plugin (the proxy hop alone)', proxy: bare, browser: await launch(executablePath, bare), injected: false });
    if (mitm) contenders.push({ name: 'mitmproxy 8 (mitm_inject.py: one script tag)', proxy: mitm, browser: await launch(executablePath, mitm), injected: false });
    const rows: PageLoadRow[] = [];
    for (const scheme of schemes) rows.push(...(await measureScheme(scheme, contenders, pageCount, rounds)));
    return rows;
  } finally {
    for (const contender of contenders) await contender.browser.close();
    await Promise.all([gateway.stop(), idle.stop(), bare.stop(), mitm?.stop()]);
    await rm(emptyPlugins, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.table(await run());
