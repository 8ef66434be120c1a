/**
 * Warm round trip of an echo plugin: the same `run(payload)` called four ways in one run —
 * directly in-process (the floor), through the worker manager in-process (adds the worker
 * process and its JSON-lines channel), and through the real gateway's HTTP API (adds HTTP, the
 * guard, the router) for a Node and a Python backend. Goals: API p50 ≤ 1 ms above the direct
 * call, ≥ 5,000 req/s on 2 cores.
 *
 * Run: `node --import tsx bench/workers/infer-roundtrip.bench.ts` (BENCH_SECONDS for the
 * throughput window, default 3; BENCH_SEQUENTIAL for latency samples, default 3000).
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { createEventBus } from '../../gateway/src/events/event-bus.js';
import { createLogger } from '../../gateway/src/events/logger.js';
import { loadPlugin, type LoadedPlugin } from '../../gateway/src/plugins/plugin-registry.js';
import { createWorkerManager } from '../../gateway/src/workers/worker-manager.js';
import { cpuMs, FIXTURE_PLUGINS, jsonClient, startGatewayChild, summarize } from './support.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 3000);
const PAYLOAD = { text: 'hello from the benchmark', n: 42 };

export interface RoundTripRow {
  path: string;
  p50Ms: number;
  p99Ms: number;
  /** p50 minus the direct in-process call's p50. */
  overheadP50Ms: number | null;
  reqPerSec: number | null;
  /** Answers other than 200 during the throughput window (503 busy, errors). */
  rejected: number | null;
  /** CPU time per request in the gateway process during the throughput window (µs). */
  gatewayCpuUs: number | null;
  /** CPU time per request in the worker process (µs). */
  workerCpuUs: number | null;
}

async function time(count: number, call: () => Promise<unknown> | unknown): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const started = performance.now();
    await call();
    samples.push(performance.now() - started);
  }
  return samples;
}

/** Keeps `parallel` calls in flight for SECONDS; counts completions. */
async function throughput(parallel: number, call: () => Promise<boolean>): Promise<{ perSecond: number; rejected: number; done: number }> {
  let done = 0;
  let rejected = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (performance.now() < deadline) {
        if (await call()) done += 1;
        else rejected += 1;
      }
    }),
  );
  return { perSecond: Math.round(done / ((performance.now() - started) / 1000)), rejected, done };
}

export async function run(): Promise<RoundTripRow[]> {
  const rows: RoundTripRow[] = [];
  const plugin = (await loadPlugin(join(FIXTURE_PLUGINS, 'node-ops'), 'node-ops')) as LoadedPlugin;

  // 1. The floor: the backend's run() called in this process.
  const backend = (await import(pathToFileURL(join(FIXTURE_PLUGINS, 'node-ops/backend.js')).href)) as { run: (payload: unknown) => Promise<unknown> };
  await time(2000, () => backend.run(PAYLOAD));
  const direct = summarize(await time(SEQUENTIAL, () => backend.run(PAYLOAD)));
  const directThroughput = await throughput(16, async () => (await backend.run(PAYLOAD), true));
  rows.push({ path: 'direct in-process run()', ...direct, overheadP50Ms: null, reqPerSec: directThroughput.perSecond, rejected: null, gatewayCpuUs: null, workerCpuUs: null });

  // 2. Worker manager in this process: worker process + JSON-lines channel, no HTTP.
  const bus = createEventBus();
  const workers = createWorkerManager({ provisionModels: async () => ({}), modelsDir: '/tmp', logger: createLogger({ bus, level: 'error', write: () => undefined }), bus, keepAliveMs: 0, queueSize: 64 });
  // A signal per call, as every HTTP request has its own.
  const infer = () => workers.infer(plugin, PAYLOAD, new AbortController().signal) as Promise<{ pid: number }>;
  const workerPid = (await infer()).pid;
  await time(2000, infer);
  const managed = summarize(await time(SEQUENTIAL, infer));
  const [selfBefore, workerBefore] = [process.cpuUsage(), await cpuMs(workerPid)];
  const managedThroughput = await throughput(16, async () => (await infer(), true));
  const selfUsed = process.cpuUsage(selfBefore);
  const workerAfter = await cpuMs(workerPid);
  rows.push({
    path: 'worker manager (in-process, Node worker)',
    ...managed,
    overheadP50Ms: managed.p50Ms - direct.p50Ms,
    reqPerSec: managedThroughput.perSecond,
    rejected: managedThroughput.rejected,
    gatewayCpuUs: Math.round((selfUsed.user + selfUsed.system) / managedThroughput.done),
    workerCpuUs: workerBefore === null || workerAfter === null ? null : Math.round(((workerAfter - workerBefore) * 1000) / managedThroughput.done),
  });
  await workers.stop();

  // 3. The real gateway (CLI child process) over HTTP, as a caller sees it.
  const gateway = await startGatewayChild({ AIPLUGS_WORKERS_QUEUE_SIZE: '64' });
  try {
    for (const id of ['node-ops', 'py-ops']) {
      const client = jsonClient(gateway.apiUrl, gateway.token, 16);
      const call = async () => (await client.post(`/api/plugins/${id}/infer`, { payload: PAYLOAD })).status === 200;
      const first = await client.post(`/api/plugins/${id}/infer`, { payload: PAYLOAD });
      const workerPid = (JSON.parse(first.text) as { result: { pid: number } }).result.pid;
      await time(2000, call);
      const api = summarize(await time(SEQUENTIAL, call));
      const [gatewayBefore, workerBefore] = [await cpuMs(gateway.pid), await cpuMs(workerPid)];
      const apiThroughput = await throughput(16, call);
      const [gatewayAfter, workerAfter] = [await cpuMs(gateway.pid), await cpuMs(workerPid)];
      const perRequest = (before: number | null, after: number | null) => (before === null || after === null ? null : Math.round(((after - before) * 1000) / apiThroughput.done));
      rows.push({
        path: `POST /api/plugins/${id}/infer (gateway child, ${id === 'node-ops' ? 'Node' : 'Python'} worker)`,
        ...api,
        overheadP50Ms: api.p50Ms - direct.p50Ms,
        reqPerSec: apiThroughput.perSecond,
        rejected: apiThroughput.rejected,
        gatewayCpuUs: perRequest(gatewayBefore, gatewayAfter),
        workerCpuUs: perRequest(workerBefore, workerAfter),
      });
      client.close();
    }
    // The same calls over one WebSocket (what a page's AiPlugs.connect uses): no HTTP per call.
    const ws = new WebSocket(`ws://127.0.0.1:${gateway.apiPort}/ws?plugin_id=node-ops&client_id=bench&token=${gateway.token}`, { perMessageDeflate: false });
    await once(ws, 'message'); // hello
    const waiting = new Map<number, () => void>();
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as { id: number };
      waiting.get(message.id)?.();
      waiting.delete(message.id);
    });
    let nextId = 0;
    const wsCall = () =>
      new Promise<boolean>((resolve) => {
        const id = nextId++;
        waiting.set(id, () => resolve(true));
        ws.send(JSON.stringify({ type: 'infer', id, payload: PAYLOAD, stream: false }));
      });
    await time(2000, wsCall);
    const overWs = summarize(await time(SEQUENTIAL, wsCall));
    const gatewayBefore = await cpuMs(gateway.pid);
    const wsThroughput = await throughput(8, wsCall); // the connection runs at most 8 calls at once
    const gatewayAfter = await cpuMs(gateway.pid);
    rows.push({
      path: 'WebSocket {type:"infer"} on /ws (gateway child, Node worker)',
      ...overWs,
      overheadP50Ms: overWs.p50Ms - direct.p50Ms,
      reqPerSec: wsThroughput.perSecond,
      rejected: wsThroughput.rejected,
      gatewayCpuUs: gatewayBefore === null || gatewayAfter === null ? null : Math.round(((gatewayAfter - gatewayBefore) * 1000) / wsThroughput.done),
      workerCpuUs: null,
    });
    ws.close();
  } finally {
    await gateway.stop();
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.table(await run());
}
