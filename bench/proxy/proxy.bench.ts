/**
 * Proxy benchmarks, all on loopback, the real gateway running as a child process (its RSS read
 * from /proc), in one run so the ratios compare like with like:
 *
 * 1. small-HTML latency with injection: direct vs gateway vs mitmproxy (Debian's mitmdump with
 *    bench/proxy/mitm_inject.py, skipped with a note when absent), HTTP and HTTPS (CONNECT
 *    tunnel), one keep-alive connection per path, the paths taking turns request by request.
 *    Goals: gateway ≤ 0.8 × mitmproxy, ≤ direct + 1 ms.
 * 2. 1 GiB through the gateway as a sub-resource, as a top-level navigation (a binary download
 *    and an HTML document that gets injected), and as an upload: throughput vs direct and the
 *    gateway's peak RSS. Goals: ≥ 0.8 × direct, < 200 MB RSS. Beside it, two relays that parse
 *    nothing: a Node process that pipes sockets, and one that moves the bytes with splice(2)
 *    without copying them (splice_relay.py: the least CPU a hop can spend).
 * 3. A 5 MiB page: injected (navigation) vs passed through untouched (sub-resource) by the
 *    gateway. Goal: ≤ 1.2 × passthrough.
 *
 * Run alone: `node --import tsx bench/proxy/proxy.bench.ts`. Env: BENCH_PROXY_MIB = size of the
 * big transfers (default 1024), BENCH_PROXY_RUNS = runs of each (default 3, ranges over all of them),
 * BENCH_PROXY_REQUESTS = latency samples per path (default 300). About 2 minutes on 2 cores.
 */
import { pathToFileURL } from 'node:url';
import { cpuSeconds, createClient, MiB, MITMDUMP, NAVIGATE, RssProbe, SMALL_PAGE, startGateway, startMitmdump, startOrigin, startRelay, SUBRESOURCE, type Client, type Origin, type ProxyChild } from './harness.js';

export interface ProxyBenchRow {
  benchmark: string;
  path: string;
  result: string;
  /** The ratio the goal is about (e.g. gateway ÷ mitmproxy), or empty. */
  ratio: string;
  /** CPU time the proxy process spent (per request, or per GiB): insensitive to other load. */
  'proxy CPU': string;
  'peak RSS': string;
  goal: string;
  met: string;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const percentile = (values: number[], p: number): number => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))] ?? NaN;
const ms = (value: number): string => `${value.toFixed(2)} ms`;
const verdict = (ok: boolean): string => (ok ? 'yes' : '**no**');
/** The range of all runs, never the best one. */
const spread = (values: number[], digits: number): string => `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;

interface Path {
  name: string;
  client: Client;
  check?: (body: Buffer) => boolean;
  /** The proxy process, whose CPU time is charged to this path's requests. */
  pid?: number;
  /** Request headers for this path, instead of the shared ones. */
  headers?: Record<string, string>;
}

interface PathResult {
  median: number;
  p90: number;
  /** CPU time of the path's proxy process per request, in ms (null when direct). */
  cpu: number | null;
}

/**
 * Median and p90 per path of `count` sequential GETs, each path on its own keep-alive connection.
 * The paths take turns request by request (rotating who goes first), so load from anything else
 * on the machine falls on all of them alike and the ratios stay fair.
 */
async function interleaved(paths: Path[], url: string, headers: Record<string, string>, count: number, warmup = 30): Promise<Map<string, PathResult>> {
  for (const path of paths) {
    for (let i = 0; i < warmup; i += 1) {
      const reply = await path.client.request(url, { headers: path.headers ?? headers });
      if (reply.status !== 200 || (path.check && !path.check(reply.body!))) throw new Error(`unexpected reply from ${path.name} for ${url}: ${reply.status}`);
    }
  }
  const times = new Map(paths.map((path) => [path.name, [] as number[]]));
  const cpu = new Map(paths.map((path) => [path.name, 0]));
  for (let i = 0; i < count; i += 1) {
    for (let turn = 0; turn < paths.length; turn += 1) {
      const path = paths[(i + turn) % paths.length]!;
      const cpuBefore = path.pid ? await cpuSeconds(path.pid) : 0;
      const started = performance.now();
      await path.client.request(url, { headers: path.headers ?? headers, keepBody: false });
      times.get(path.name)!.push(performance.now() - started);
      if (path.pid) cpu.set(path.name, cpu.get(path.name)! + (await cpuSeconds(path.pid)) - cpuBefore);
    }
  }
  return new Map(
    paths.map((path) => {
      const values = times.get(path.name)!;
      return [path.name, { median: median(values), p90: percentile(values, 0.9), cpu: path.pid ? (cpu.get(path.name)! * 1000) / count : null }];
    }),
  );
}

const injected = (body: Buffer): boolean => body.includes('data-aiplugs="runtime"');

async function latencyRows(origin: Origin, gateway: ProxyChild, mitm: ProxyChild | null, count: number): Promise<ProxyBenchRow[]> {
  const rows: ProxyBenchRow[] = [];
  for (const secure of [false, true]) {
    const base = secure ? origin.https : origin.http;
    const label = `small HTML (${SMALL_PAGE.length} B) latency, ${secure ? 'HTTPS' : 'HTTP'}, ${count} requests each`;
    const paths: Path[] = [
      { name: 'direct', client: await createClient({ secure, origin: base }) },
      { name: 'gateway', client: await createClient({ secure, origin: base, proxyPort: gateway.port }), check: injected, pid: gateway.pid },
      ...(mitm ? [{ name: 'mitmproxy', client: await createClient({ secure, origin: base, proxyPort: mitm.port }), check: injected, pid: mitm.pid }] : []),
    ];
    let results;
    try {
      results = await interleaved(paths, `${base}/small.html`, NAVIGATE, count);
    } finally {
      for (const path of paths) path.client.close();
    }
    const direct = results.get('direct')!;
    const viaGateway = results.get('gateway')!;
    const viaMitm = results.get('mitmproxy') ?? null;
    rows.push({ benchmark: label, path: 'direct', result: `${ms(direct.median)} (p90 ${ms(direct.p90)})`, ratio: '', 'proxy CPU': '', 'peak RSS': '', goal: '', met: '' });
    const overDirect = viaGateway.median - direct.median;
    rows.push({
      benchmark: label,
      path: 'gateway, injecting',
      result: `${ms(viaGateway.median)} (p90 ${ms(viaGateway.p90)})`,
      ratio: `+${ms(overDirect)} over direct${viaMitm ? `; ${(viaGateway.median / viaMitm.median).toFixed(2)}× mitmproxy` : ''}`,
      'proxy CPU': `${ms(viaGateway.cpu!)}/request${viaMitm ? ` (${(viaGateway.cpu! / viaMitm.cpu!).toFixed(2)}× mitmproxy)` : ''}`,
      'peak RSS': '',
      goal: '≤ direct + 1 ms; ≤ 0.8× mitmproxy',
      met: `+1 ms: ${verdict(overDirect <= 1)}${viaMitm ? `; 0.8× mitmproxy: ${verdict(viaGateway.median <= 0.8 * viaMitm.median)}` : ''}`,
    });
    rows.push(
      viaMitm
        ? { benchmark: label, path: 'mitmproxy 8 (mitm_inject.py)', result: `${ms(viaMitm.median)} (p90 ${ms(viaMitm.p90)})`, ratio: '', 'proxy CPU': `${ms(viaMitm.cpu!)}/request`, 'peak RSS': '', goal: '', met: '' }
        : { benchmark: label, path: 'mitmproxy', result: 'skipped: mitmdump not installed', ratio: '', 'proxy CPU': '', 'peak RSS': '', goal: '', met: '' },
    );
  }
  return rows;
}

/** One big transfer; returns MiB/s and, for the gateway, its peak RSS meanwhile. */
async function transfer(base: string, proxyPort: number | undefined, probe: RssProbe | null, kind: 'subresource' | 'navigation' | 'navigation-html' | 'upload', mib: number) {
  const client = await createClient({ secure: false, origin: base, ...(proxyPort ? { proxyPort } : {}) });
  try {
    await probe?.reset();
    const cpuBefore = probe ? await cpuSeconds(probe.pid) : 0;
    const started = performance.now();
    let reply;
    if (kind === 'upload') {
      reply = await client.request(`${base}/upload`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, upload: mib * MiB, keepBody: true });
      if (reply.body?.toString() !== String(mib * MiB)) throw new Error(`upload arrived short: ${reply.body?.toString()}`);
    } else {
      const type = kind === 'navigation-html' ? 'html' : 'bin';
      reply = await client.request(`${base}/big?mib=${mib}&type=${type}`, { headers: kind === 'subresource' ? SUBRESOURCE : NAVIGATE, keepBody: false });
      const expected = mib * MiB;
      // An injected document is longer by the markup; anything else must arrive byte for byte.
      if (kind === 'navigation-html' && proxyPort ? reply.bytes <= expected : reply.bytes !== expected) throw new Error(`${kind}: got ${reply.bytes} of ${expected} bytes`);
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = probe ? ((await cpuSeconds(probe.pid)) - cpuBefore) / (mib / 1024) : null;
    return { mibPerSecond: mib / seconds, peakMb: probe ? await probe.peakMb() : null, cpuPerGiB: cpu };
  } finally {
    client.close();
  }
}

/** A relay measured beside the gateway: a reference for what the hop alone costs. */
interface Relay {
  label: string;
  child: ProxyChild;
}

/** Speeds, ratios to the direct run of the same turn, and CPU per GiB, one of each per run. */
function samples() {
  return { speeds: [] as number[], ratios: [] as number[], cpus: [] as number[] };
}

async function throughputRows(origin: Origin, gateway: ProxyChild, relays: Relay[], mib: number, runs: number): Promise<ProxyBenchRow[]> {
  const probe = new RssProbe(gateway.pid);
  const idle = await probe.currentMb();
  const rows: ProxyBenchRow[] = [];
  const kinds = [
    ['subresource', 'download as a sub-resource (fetch)'],
    ['navigation', 'download as a top-level navigation (binary)'],
    ['navigation-html', 'top-level navigation to a huge HTML page (injected, streamed)'],
    ['upload', 'upload (POST body)'],
  ] as const;
  for (const [kind, label] of kinds) {
    // Direct, the relays and the gateway take turns, and each run is compared with the direct run
    // of its turn: the ratios, speeds and CPU are ranges over all runs, the peak RSS the highest.
    const directs: number[] = [];
    const viaGateway = samples();
    const viaRelays = relays.map(() => samples());
    let peak = 0;
    const record = (into: ReturnType<typeof samples>, result: { mibPerSecond: number; cpuPerGiB: number | null }, direct: number) => {
      into.speeds.push(result.mibPerSecond);
      into.ratios.push(result.mibPerSecond / direct);
      into.cpus.push(result.cpuPerGiB ?? NaN);
    };
    for (let run = 0; run < runs; run += 1) {
      const direct = (await transfer(origin.http, undefined, null, kind, mib)).mibPerSecond;
      directs.push(direct);
      for (const [index, relay] of relays.entries()) {
        record(viaRelays[index]!, await transfer(`http://127.0.0.1:${relay.child.port}`, undefined, new RssProbe(relay.child.pid), kind, mib), direct);
      }
      const result = await transfer(origin.http, gateway.port, probe, kind, mib);
      record(viaGateway, result, direct);
      peak = Math.max(peak, result.peakMb ?? NaN);
    }
    const benchmark = `${mib} MiB ${label}, ${runs} runs`;
    const met = (ratios: number[]) => (Math.min(...ratios) >= 0.8 ? 'yes' : Math.max(...ratios) >= 0.8 ? '**no** (some runs only)' : '**no**');
    const measured = (path: string, of: ReturnType<typeof samples>) => ({ benchmark, path, result: `${spread(of.speeds, 0)} MiB/s`, ratio: `${spread(of.ratios, 2)}× direct`, 'proxy CPU': `${spread(of.cpus, 2)} s/GiB` });
    rows.push({ benchmark, path: 'direct', result: `${spread(directs, 0)} MiB/s`, ratio: '', 'proxy CPU': '', 'peak RSS': '', goal: '', met: '' });
    relays.forEach((relay, index) => rows.push({ ...measured(relay.label, viaRelays[index]!), 'peak RSS': '', goal: '', met: `0.8×: ${met(viaRelays[index]!.ratios)}` }));
    rows.push({
      ...measured('gateway', viaGateway),
      'peak RSS': `${peak.toFixed(0)} MB (idle ${idle.toFixed(0)} MB)`,
      goal: '≥ 0.8× direct, < 200 MB',
      met: `speed: ${met(viaGateway.ratios)}; RSS: ${verdict(peak < 200)}`,
    });
  }
  return rows;
}

async function bigPageRows(origin: Origin, gateway: ProxyChild, count: number): Promise<ProxyBenchRow[]> {
  const url = `${origin.http}/page-5mb.html`;
  const benchmark = `5 MiB HTML page, ${count} loads each`;
  // Same URL and gateway; only the request headers differ: a navigation gets injected, a fetch()
  // of the same page is passed through untouched.
  const client = (proxyPort?: number) => createClient({ secure: false, origin: origin.http, ...(proxyPort ? { proxyPort } : {}) });
  const paths: Path[] = [
    { name: 'direct', client: await client(), headers: NAVIGATE },
    { name: 'passthrough', client: await client(gateway.port), headers: SUBRESOURCE, check: (body) => !injected(body), pid: gateway.pid },
    { name: 'injecting', client: await client(gateway.port), headers: NAVIGATE, check: injected, pid: gateway.pid },
  ];
  let results: Map<string, PathResult>;
  try {
    results = await interleaved(paths, url, {}, count, 3);
  } finally {
    for (const path of paths) path.client.close();
  }
  const direct = results.get('direct')!;
  const passthrough = results.get('passthrough')!;
  const injecting = results.get('injecting')!;
  return [
    { benchmark, path: 'direct', result: ms(direct.median), ratio: '', 'proxy CPU': '', 'peak RSS': '', goal: '', met: '' },
    {
      benchmark,
      path: 'gateway, passthrough (fetch of the page)',
      result: ms(passthrough.median),
      ratio: `${(passthrough.median / direct.median).toFixed(2)}× direct`,
      'proxy CPU': `${ms(passthrough.cpu!)}/load`,
      'peak RSS': '',
      goal: '',
      met: '',
    },
    {
      benchmark,
      path: 'gateway, injecting (navigation)',
      result: ms(injecting.median),
      ratio: `${(injecting.median / passthrough.median).toFixed(2)}× passthrough`,
      'proxy CPU': `${ms(injecting.cpu!)}/load (${(injecting.cpu! / passthrough.cpu!).toFixed(2)}× passthrough)`,
      'peak RSS': '',
      goal: '≤ 1.2× passthrough',
      met: verdict(injecting.median <= 1.2 * passthrough.median),
    },
  ];
}

/** Runs every proxy benchmark once and returns one row per measured path. */
export async function run(options: { mib?: number; requests?: number; runs?: number } = {}): Promise<ProxyBenchRow[]> {
  const runs = options.runs ?? Number(process.env.BENCH_PROXY_RUNS ?? 3);
  const mib = options.mib ?? Number(process.env.BENCH_PROXY_MIB ?? 1024);
  const requests = options.requests ?? Number(process.env.BENCH_PROXY_REQUESTS ?? 300);
  const origin = await startOrigin();
  const gateway = await startGateway();
  const mitm = await startMitmdump().catch((error: Error) => {
    process.stderr.write(`mitmdump failed to start (${error.message}); its rows are skipped\n`);
    return null;
  });
  if (!MITMDUMP) process.stderr.write('mitmdump not found: mitmproxy comparison skipped\n');
  const relays: Relay[] = [];
  try {
    const originPort = Number(new URL(origin.http).port);
    relays.push({ label: 'plain TCP relay (Node, parses nothing: the hop alone)', child: await startRelay(originPort, 'node') });
    relays.push({ label: 'zero-copy relay (splice(2), bench/proxy/splice_relay.py: the least CPU a hop can spend)', child: await startRelay(originPort, 'splice') });
    // Big transfers first, on a gateway that has only loaded its code (one small page each
    // way), so their peak RSS is not inflated by heap the latency runs grew before them.
    const client = await createClient({ secure: false, origin: origin.http, proxyPort: gateway.port });
    await client.request(`${origin.http}/small.html`, { headers: NAVIGATE });
    await client.request(`${origin.http}/small.html`, { headers: SUBRESOURCE });
    client.close();
    const throughput = await throughputRows(origin, gateway, relays, mib, runs);
    const bigPage = await bigPageRows(origin, gateway, 30);
    const latencies = await latencyRows(origin, gateway, mitm, requests);
    return [...latencies, ...bigPage, ...throughput];
  } finally {
    await Promise.allSettled([gateway.stop(), ...relays.map((relay) => relay.child.stop()), mitm?.stop(), origin.close()]);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await run();
  console.table(rows);
}
