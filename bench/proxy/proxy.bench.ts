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
 *    gateway's peak RSS. Goals: ≥ 0.8 × direct, < 200 MB RSS.
 * 3. A 5 MiB page: injected (navigation) vs passed through untouched (sub-resource) by the
 *    gateway. Goal: ≤ 1.2 × passthrough.
 *
 * Run alone: `node --import tsx bench/proxy/proxy.bench.ts`. Env: BENCH_PROXY_MIB = size of the
 * big transfers (default 1024), BENCH_PROXY_RUNS = runs of each (default 2, best kept),
 * BENCH_PROXY_REQUESTS = latency samples per path (default 300). About 2 minutes on 2 cores.
 */
import { pathToFileURL } from 'node:url';
import { createClient, MiB, MITMDUMP, NAVIGATE, RssProbe, SMALL_PAGE, startGateway, startMitmdump, startOrigin, SUBRESOURCE, type Client, type Origin, type ProxyChild } from './harness.js';

export interface ProxyBenchRow {
  benchmark: string;
  path: string;
  result: string;
  /** The ratio the goal is about (e.g. gateway ÷ mitmproxy), or empty. */
  ratio: string;
  'peak RSS': string;
  goal: string;
  met: string;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const percentile = (values: number[], p: number): number => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))] ?? NaN;
const ms = (value: number): string => `${value.toFixed(2)} ms`;
const verdict = (ok: boolean): string => (ok ? 'yes' : '**no**');

interface Path {
  name: string;
  client: Client;
  check?: (body: Buffer) => boolean;
}

/**
 * Median and p90 per path of `count` sequential GETs, each path on its own keep-alive connection.
 * The paths take turns request by request (rotating who goes first), so load from anything else
 * on the machine falls on all of them alike and the ratios stay fair.
 */
async function interleaved(paths: Path[], url: string, headers: Record<string, string>, count: number, warmup = 30): Promise<Map<string, { median: number; p90: number }>> {
  for (const path of paths) {
    for (let i = 0; i < warmup; i += 1) {
      const reply = await path.client.request(url, { headers });
      if (reply.status !== 200 || (path.check && !path.check(reply.body!))) throw new Error(`unexpected reply from ${path.name} for ${url}: ${reply.status}`);
    }
  }
  const times = new Map(paths.map((path) => [path.name, [] as number[]]));
  for (let i = 0; i < count; i += 1) {
    for (let turn = 0; turn < paths.length; turn += 1) {
      const path = paths[(i + turn) % paths.length]!;
      const started = performance.now();
      await path.client.request(url, { headers, keepBody: false });
      times.get(path.name)!.push(performance.now() - started);
    }
  }
  return new Map([...times].map(([name, values]) => [name, { median: median(values), p90: percentile(values, 0.9) }]));
}

const injected = (body: Buffer): boolean => body.includes('data-aiplugs="runtime"');

async function latencyRows(origin: Origin, gateway: ProxyChild, mitm: ProxyChild | null, count: number): Promise<ProxyBenchRow[]> {
  const rows: ProxyBenchRow[] = [];
  for (const secure of [false, true]) {
    const base = secure ? origin.https : origin.http;
    const label = `small HTML (${SMALL_PAGE.length} B) latency, ${secure ? 'HTTPS' : 'HTTP'}, ${count} requests each`;
    const paths: Path[] = [
      { name: 'direct', client: await createClient({ secure, origin: base }) },
      { name: 'gateway', client: await createClient({ secure, origin: base, proxyPort: gateway.port }), check: injected },
      ...(mitm ? [{ name: 'mitmproxy', client: await createClient({ secure, origin: base, proxyPort: mitm.port }), check: injected }] : []),
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
    rows.push({ benchmark: label, path: 'direct', result: `${ms(direct.median)} (p90 ${ms(direct.p90)})`, ratio: '', 'peak RSS': '', goal: '', met: '' });
    const overDirect = viaGateway.median - direct.median;
    rows.push({
      benchmark: label,
      path: 'gateway, injecting',
      result: `${ms(viaGateway.median)} (p90 ${ms(viaGateway.p90)})`,
      ratio: `+${ms(overDirect)} over direct${viaMitm ? `; ${(viaGateway.median / viaMitm.median).toFixed(2)}× mitmproxy` : ''}`,
      'peak RSS': '',
      goal: '≤ direct + 1 ms; ≤ 0.8× mitmproxy',
      met: verdict(overDirect <= 1 && (!viaMitm || viaGateway.median <= 0.8 * viaMitm.median)),
    });
    rows.push(
      viaMitm
        ? { benchmark: label, path: 'mitmproxy 8 (mitm_inject.py)', result: `${ms(viaMitm.median)} (p90 ${ms(viaMitm.p90)})`, ratio: '', 'peak RSS': '', goal: '', met: '' }
        : { benchmark: label, path: 'mitmproxy', result: 'skipped: mitmdump not installed', ratio: '', 'peak RSS': '', goal: '', met: '' },
    );
  }
  return rows;
}

/** One big transfer; returns MiB/s and, for the gateway, its peak RSS meanwhile. */
async function transfer(origin: Origin, proxyPort: number | undefined, probe: RssProbe | null, kind: 'subresource' | 'navigation' | 'navigation-html' | 'upload', mib: number) {
  const client = await createClient({ secure: false, origin: origin.http, ...(proxyPort ? { proxyPort } : {}) });
  try {
    await probe?.reset();
    const started = performance.now();
    let reply;
    if (kind === 'upload') {
      reply = await client.request(`${origin.http}/upload`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, upload: mib * MiB, keepBody: true });
      if (reply.body?.toString() !== String(mib * MiB)) throw new Error(`upload arrived short: ${reply.body?.toString()}`);
    } else {
      const type = kind === 'navigation-html' ? 'html' : 'bin';
      reply = await client.request(`${origin.http}/big?mib=${mib}&type=${type}`, { headers: kind === 'subresource' ? SUBRESOURCE : NAVIGATE, keepBody: false });
      const expected = mib * MiB;
      // An injected document is longer by the markup; anything else must arrive byte for byte.
      if (kind === 'navigation-html' && proxyPort ? reply.bytes <= expected : reply.bytes !== expected) throw new Error(`${kind}: got ${reply.bytes} of ${expected} bytes`);
    }
    const seconds = (performance.now() - started) / 1000;
    return { mibPerSecond: mib / seconds, peakMb: probe ? await probe.peakMb() : null };
  } finally {
    client.close();
  }
}

async function throughputRows(origin: Origin, gateway: ProxyChild, mib: number, runs: number): Promise<ProxyBenchRow[]> {
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
    // Direct and gateway take turns; each keeps its best run (the least disturbed by anything
    // else on the machine), and the gateway's peak RSS is the highest of its runs.
    let direct = 0;
    let viaGateway = 0;
    let peak = 0;
    for (let run = 0; run < runs; run += 1) {
      direct = Math.max(direct, (await transfer(origin, undefined, null, kind, mib)).mibPerSecond);
      const result = await transfer(origin, gateway.port, probe, kind, mib);
      viaGateway = Math.max(viaGateway, result.mibPerSecond);
      peak = Math.max(peak, result.peakMb ?? NaN);
    }
    const ratio = viaGateway / direct;
    const benchmark = `${mib} MiB ${label}, best of ${runs}`;
    rows.push({ benchmark, path: 'direct', result: `${direct.toFixed(0)} MiB/s`, ratio: '', 'peak RSS': '', goal: '', met: '' });
    rows.push({
      benchmark,
      path: 'gateway',
      result: `${viaGateway.toFixed(0)} MiB/s`,
      ratio: `${ratio.toFixed(2)}× direct`,
      'peak RSS': `${peak.toFixed(0)} MB (idle ${idle.toFixed(0)} MB)`,
      goal: '≥ 0.8× direct, < 200 MB',
      met: verdict(ratio >= 0.8 && peak < 200),
    });
  }
  return rows;
}

async function bigPageRows(origin: Origin, gateway: ProxyChild, count: number): Promise<ProxyBenchRow[]> {
  const url = `${origin.http}/page-5mb.html`;
  const benchmark = `5 MiB HTML page, ${count} loads each`;
  // Same URL and gateway; only the request headers differ: a navigation gets injected, a fetch()
  // of the same page is passed through untouched.
  const pathOf = async (proxyPort: number | undefined, headers: Record<string, string>, check: (body: Buffer) => boolean) => {
    const client = await createClient({ secure: false, origin: origin.http, ...(proxyPort ? { proxyPort } : {}) });
    return { client, headers, check };
  };
  const direct = await pathOf(undefined, NAVIGATE, () => true);
  const passthrough = await pathOf(gateway.port, SUBRESOURCE, (body) => !injected(body));
  const injecting = await pathOf(gateway.port, NAVIGATE, injected);
  const all = [direct, passthrough, injecting];
  const times: number[][] = all.map(() => []);
  try {
    for (const [index, path] of all.entries()) {
      for (let i = 0; i < 3; i += 1) {
        const reply = await path.client.request(url, { headers: path.headers });
        if (reply.status !== 200 || !path.check(reply.body!)) throw new Error(`5 MiB page: unexpected reply on path ${index}`);
      }
    }
    for (let i = 0; i < count; i += 1) {
      for (let turn = 0; turn < all.length; turn += 1) {
        const index = (i + turn) % all.length;
        const path = all[index]!;
        const started = performance.now();
        await path.client.request(url, { headers: path.headers, keepBody: false });
        times[index]!.push(performance.now() - started);
      }
    }
  } finally {
    for (const path of all) path.client.close();
  }
  const [directMs, passMs, injectMs] = times.map(median) as [number, number, number];
  return [
    { benchmark, path: 'direct', result: ms(directMs), ratio: '', 'peak RSS': '', goal: '', met: '' },
    { benchmark, path: 'gateway, passthrough (fetch of the page)', result: ms(passMs), ratio: `${(passMs / directMs).toFixed(2)}× direct`, 'peak RSS': '', goal: '', met: '' },
    {
      benchmark,
      path: 'gateway, injecting (navigation)',
      result: ms(injectMs),
      ratio: `${(injectMs / passMs).toFixed(2)}× passthrough`,
      'peak RSS': '',
      goal: '≤ 1.2× passthrough',
      met: verdict(injectMs <= 1.2 * passMs),
    },
  ];
}

/** Runs every proxy benchmark once and returns one row per measured path. */
export async function run(options: { mib?: number; requests?: number; runs?: number } = {}): Promise<ProxyBenchRow[]> {
  const runs = options.runs ?? Number(process.env.BENCH_PROXY_RUNS ?? 2);
  const mib = options.mib ?? Number(process.env.BENCH_PROXY_MIB ?? 1024);
  const requests = options.requests ?? Number(process.env.BENCH_PROXY_REQUESTS ?? 300);
  const origin = await startOrigin();
  const gateway = await startGateway();
  const mitm = await startMitmdump().catch((error: Error) => {
    process.stderr.write(`mitmdump failed to start (${error.message}); its rows are skipped\n`);
    return null;
  });
  if (!MITMDUMP) process.stderr.write('mitmdump not found: mitmproxy comparison skipped\n');
  try {
    // Big transfers first, on a gateway that has only loaded its code (one small page each
    // way), so their peak RSS is not inflated by heap the latency runs grew before them.
    const client = await createClient({ secure: false, origin: origin.http, proxyPort: gateway.port });
    await client.request(`${origin.http}/small.html`, { headers: NAVIGATE });
    await client.request(`${origin.http}/small.html`, { headers: SUBRESOURCE });
    client.close();
    const throughput = await throughputRows(origin, gateway, mib, runs);
    const bigPage = await bigPageRows(origin, gateway, 30);
    const latencies = await latencyRows(origin, gateway, mitm, requests);
    return [...latencies, ...bigPage, ...throughput];
  } finally {
    await Promise.allSettled([gateway.stop(), mitm?.stop(), origin.close()]);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await run();
  console.table(rows);
}
