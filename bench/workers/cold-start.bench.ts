/**
 * Worker cold start: from the first request for a plugin with no running worker to its answer
 * (spawn the host, import the backend, ready, one round trip). The worker is unloaded between
 * rounds so every round is cold. Goal: Node ≤ 300 ms. Python and TypeScript (tsx) for reference.
 *
 * Run: `node --import tsx bench/workers/cold-start.bench.ts` (BENCH_ROUNDS, default 15).
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createEventBus } from '../../gateway/src/events/event-bus.js';
import { createLogger } from '../../gateway/src/events/logger.js';
import { loadPlugin, type LoadedPlugin } from '../../gateway/src/plugins/plugin-registry.js';
import { createWorkerManager } from '../../gateway/src/workers/worker-manager.js';
import { FIXTURE_PLUGINS, percentile } from './support.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);

export interface ColdStartRow {
  backend: string;
  rounds: number;
  minMs: number;
  p50Ms: number;
  p90Ms: number;
  goal: string;
}

export async function run(): Promise<ColdStartRow[]> {
  const bus = createEventBus();
  const workers = createWorkerManager({ provisionModels: async () => ({}), modelsDir: '/tmp', logger: createLogger({ bus, level: 'error', write: () => undefined }), bus, keepAliveMs: 0 });
  const rows: ColdStartRow[] = [];
  const cases: Array<[string, string, string]> = [
    ['node-ops', 'Node (.js)', '≤ 300 ms'],
    ['ts-echo', 'Node (.ts through tsx)', 'reference'],
    ['py-ops', 'Python 3', 'reference'],
  ];
  try {
    for (const [id, label, goal] of cases) {
      const plugin = (await loadPlugin(join(FIXTURE_PLUGINS, id), id)) as LoadedPlugin;
      const samples: number[] = [];
      for (let round = 0; round <= ROUNDS; round += 1) {
        await workers.unload(id);
        const started = performance.now();
        await workers.infer(plugin, { text: 'cold' }, new AbortController().signal);
        if (round > 0) samples.push(performance.now() - started); // round 0 warms the OS file cache
      }
      samples.sort((a, b) => a - b);
      rows.push({ backend: label, rounds: samples.length, minMs: samples[0]!, p50Ms: percentile(samples, 50), p90Ms: percentile(samples, 90), goal });
    }
  } finally {
    await workers.stop();
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.table(await run());
}
