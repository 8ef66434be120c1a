/**
 * CPU cost per request of the gateway against mitmproxy (Debian's mitmdump with
 * bench/proxy/mitm_inject.py), measured as CPU time (user + system, /proc) of each proxy process
 * over blocks of requests, several rounds, so that load from other programs on the machine moves
 * the numbers little. Two kinds of request, both on one keep-alive connection per proxy over HTTP:
 *
 * - an injected document: a navigation to a small HTML page (1.9 KB) that gets the runtime and the
 *   bench plugin's script. Goal: gateway ≤ 0.8× mitmproxy.
 * - a passed-through sub-resource: a `fetch` of the same page, left untouched. Goal: ≤ 0.5×.
 *
 * First a warm-up of each kind through each proxy, measured on its own: the gateway's cost per
 * request falls for its first few thousand requests while V8 compiles the hot paths (on helper
 * threads, counted in the process's CPU time), as a trial showed: a document 2.7 → 0.8 ms, a
 * sub-resource 1.1 → 0.4 ms; mitmproxy stays flat. Then each round runs a block per proxy and kind,
 * as interleaved slices of 100 requests (who goes first alternates), so that load from elsewhere
 * on a shared machine falls on both proxies' blocks alike rather than on whichever ran while it
 * lasted. Rows give the range over all rounds, never the best, and the
 * warm-up figure beside it. mitmproxy rows say "not installed" when mitmdump is absent.
 *
 * Run alone: `node --import tsx bench/proxy/cpu-blocks.bench.ts`. Env: BENCH_CPU_ROUNDS (default 6),
 * BENCH_CPU_BLOCK (requests per block, default 1000), BENCH_CPU_WARMUP (warm-up requests per kind
 * and proxy, default 3000).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { cpuSeconds, createClient, MITMDUMP, NAVIGATE, startGateway, startMitmdump, startOrigin, SUBRESOURCE, type Client, type ProxyChild } from './harness.js';

export interface CpuBlockRow {
  request: string;
  proxy: string;
  'warm-up: CPU per request': string;
  rounds: number;
  'CPU per request (range over rounds)': string;
  'gateway ÷ mitmproxy (range over rounds)': string;
  goal: string;
  met: string;
}

const KINDS = [
  { request: 'injected document (small HTML navigation)', headers: NAVIGATE, injected: true, goal: 0.8 },
  { request: 'passed-through sub-resource (fetch of the same page)', headers: SUBRESOURCE, injected: false, goal: 0.5 },
] as const;

/** Requests per slice of a block: ~0.1 s of a proxy's CPU, ten ticks of the kernel's CPU clock. */
const SLICE_REQUESTS = 100;
/** Long enough for a proxy's deferred collection work to finish. */
const SETTLE_MS = 300;

const range = (values: number[], digits = 3): string => `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;

/** Sends `count` sequential requests through `proxy` on `client`, checking the first answer. */
async function send(proxy: ProxyChild, client: Client, url: string, headers: Record<string, string>, injected: boolean, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    const reply = await client.request(url, { headers, keepBody: i === 0 });
    if (reply.status !== 200) throw new Error(`${proxy.name} answered ${reply.status} for ${url}`);
    if (i === 0 && reply.body!.includes('data-aiplugs="runtime"') !== injected) throw new Error(`${proxy.name}: the page was ${injected ? 'not ' : ''}injected`);
  }
}

/**
 * CPU ms per request of each proxy over `run`, which sends each of them `count` requests. Read
 * after a pause, so that work a proxy leaves for later (a collection on a helper thread) is
 * counted, and counted in the round that caused it.
 */
async function cpuPerRequest(proxies: readonly ProxyChild[], count: number, run: () => Promise<void>): Promise<Map<string, number>> {
  const before = await Promise.all(proxies.map((proxy) => cpuSeconds(proxy.pid)));
  await run();
  await sleep(SETTLE_MS);
  const after = await Promise.all(proxies.map((proxy) => cpuSeconds(proxy.pid)));
  return new Map(proxies.map((proxy, index) => [proxy.name, ((after[index]! - before[index]!) * 1000) / count]));
}

export async function run(options: { rounds?: number; blockSize?: number; warmup?: number } = {}): Promise<CpuBlockRow[]> {
  const rounds = options.rounds ?? Number(process.env.BENCH_CPU_ROUNDS ?? 6);
  const blockSize = options.blockSize ?? Number(process.env.BENCH_CPU_BLOCK ?? 1000);
  const warmup = options.warmup ?? Number(process.env.BENCH_CPU_WARMUP ?? 3000);
  const sliceSize = Math.min(blockSize, SLICE_REQUESTS);
  const slices = Math.max(1, Math.round(blockSize / sliceSize));
  const origin = await startOrigin();
  const gateway = await startGateway();
  const mitm = await startMitmdump();
  const proxies = [gateway, ...(mitm ? [mitm] : [])];
  const clients = new Map(await Promise.all(proxies.map(async (proxy) => [proxy.name, await createClient({ secure: false, origin: origin.http, proxyPort: proxy.port })] as const)));
  const url = `${origin.http}/small.html`;
  try {
    const cpu = new Map<string, number[]>();
    const warm = new Map<string, number>();
    for (const kind of KINDS) {
      for (const proxy of proxies) {
        const spent = await cpuPerRequest([proxy], warmup, () => send(proxy, clients.get(proxy.name)!, url, kind.headers, kind.injected, warmup));
        warm.set(`${kind.request}\n${proxy.name}`, spent.get(proxy.name)!);
      }
    }
    for (let round = 0; round < rounds; round += 1) {
      for (const kind of KINDS) {
        // The round's block of each proxy runs as interleaved slices, so that a burst of load from
        // elsewhere on the machine lands on both proxies alike instead of on one block; each
        // proxy's CPU is read over the whole round, its idle time during the other's slices too.
        const spent = await cpuPerRequest(proxies, slices * sliceSize, async () => {
          for (let slice = 0; slice < slices; slice += 1) {
            const order = (round + slice) % 2 === 0 ? proxies : [...proxies].reverse();
            for (const proxy of order) await send(proxy, clients.get(proxy.name)!, url, kind.headers, kind.injected, sliceSize);
          }
        });
        for (const proxy of proxies) {
          const key = `${kind.request}\n${proxy.name}`;
          cpu.set(key, [...(cpu.get(key) ?? []), spent.get(proxy.name)!]);
        }
      }
    }
    return KINDS.flatMap((kind): CpuBlockRow[] => {
      const ours = cpu.get(`${kind.request}\ngateway`)!;
      const theirs = mitm ? cpu.get(`${kind.request}\nmitmproxy`)! : null;
      const ratios = theirs ? ours.map((value, index) => value / theirs[index]!) : null;
      const goal = `≤ ${kind.goal}× mitmproxy`;
      const warmFigure = (proxy: string) => `${warm.get(`${kind.request}\n${proxy}`)!.toFixed(3)} ms (first ${warmup})`;
      const met = ratios ? (Math.max(...ratios) <= kind.goal ? 'yes (every round)' : Math.min(...ratios) <= kind.goal ? '**no** (some rounds only)' : '**no**') : 'mitmproxy not installed';
      return [
        { request: kind.request, proxy: 'gateway', 'warm-up: CPU per request': warmFigure('gateway'), rounds, 'CPU per request (range over rounds)': `${range(ours)} ms`, 'gateway ÷ mitmproxy (range over rounds)': ratios ? `${range(ratios, 2)}×` : '', goal, met },
        theirs
          ? { request: kind.request, proxy: 'mitmproxy 8 (mitm_inject.py)', 'warm-up: CPU per request': warmFigure('mitmproxy'), rounds, 'CPU per request (range over rounds)': `${range(theirs)} ms`, 'gateway ÷ mitmproxy (range over rounds)': '', goal: '', met: '' }
          : { request: kind.request, proxy: 'mitmproxy', 'warm-up: CPU per request': '', rounds: 0, 'CPU per request (range over rounds)': `mitmproxy not installed${MITMDUMP ? '' : ' (no mitmdump on PATH)'}`, 'gateway ÷ mitmproxy (range over rounds)': '', goal: '', met: '' },
      ];
    });
  } finally {
    for (const client of clients.values()) client.close();
    await Promise.allSettled([gateway.stop(), mitm?.stop(), origin.close()]);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.table(await run());
