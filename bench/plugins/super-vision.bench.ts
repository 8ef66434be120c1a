/**
 * Super Vision: what one detection on a 640 × 480 photo costs, three ways, in one run:
 * - `model`: the CenterNet graph alone on a ready 512 × 512 input (tfjs WebAssembly, in process):
 *   the baseline, the part no plugin code can make cheaper;
 * - `run()`: the backend's whole call in process: base64 JPEG → decode → shrink → graph → boxes;
 * - `worker`: the same payload through the real Node worker host (a separate process, as the
 *   gateway runs it), timed from the caller: the answer time a page waits for (minus HTTP), with
 *   the worker's CPU time from /proc and its resident memory.
 * CPU time per call, per round (ROUNDS × CALLS), reported as min–max over rounds; the ratio is
 * against `model` in the same round. The photo is the centre 640 × 480 of test/fixtures/photos/dog.jpg.
 *
 * Run: `npm run bench -- super-vision` (BENCH_ROUNDS, default 3; BENCH_CALLS, default 10).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import jpeg from 'jpeg-js';
import { createEventBus } from '../../gateway/src/events/event-bus.js';
import { createLogger } from '../../gateway/src/events/logger.js';
import { createModelProvisioner } from '../../gateway/src/models/model-provisioner.js';
import { loadPlugin, type LoadedPlugin } from '../../gateway/src/plugins/plugin-registry.js';
import { createWorkerManager } from '../../gateway/src/workers/worker-manager.js';
import { MODEL_FILES, PHOTOS, PLUGIN_DIR, pluginModule, type DecodeModule, type DetectorModule } from '../../test/plugins/super-vision-support.js';
import { cpuMs, rssMb } from '../workers/support.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CALLS = Number(process.env.BENCH_CALLS ?? 10);

interface Row {
  contender: string;
  rounds: number;
  callsPerRound: number;
  cpuMsPerCall: string;
  wallMsPerCall: string;
  vsModelCpu: string;
  note: string;
}

/** The centre 640 × 480 of the dog photo, as a JPEG data: URL (what a page sends). */
async function photo640x480(decode: DecodeModule): Promise<string> {
  const source = decode.decodeImage(await readFile(join(PHOTOS, 'dog.jpg')));
  const [width, height, left, top] = [640, 480, (source.width - 640) >> 1, (source.height - 480) >> 1];
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) data.set(source.rgba.subarray(((top + y) * source.width + left) * 4, ((top + y) * source.width + left + width) * 4), y * width * 4);
  return `data:image/jpeg;base64,${jpeg.encode({ width, height, data }, 90).data.toString('base64')}`;
}

const range = (values: number[], digits = 0) => {
  const low = Math.min(...values).toFixed(digits);
  const high = Math.max(...values).toFixed(digits);
  return low === high ? low : `${low}–${high}`;
};

/** CPU (this process) and wall time per call of `call`, over CALLS calls. */
async function timeInProcess(call: () => Promise<unknown>) {
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < CALLS; i++) await call();
  const used = process.cpuUsage(cpu);
  return { cpuMs: (used.user + used.system) / 1000 / CALLS, wallMs: (performance.now() - started) / CALLS };
}

export async function run(): Promise<Row[]> {
  const decode = await pluginModule<DecodeModule>('decode-image.js');
  const image = await photo640x480(decode);

  // In process: the model alone, and the backend's run().
  process.env.CENTERNET_MODEL_PATH = MODEL_FILES.graphPath;
  process.env.CENTERNET_WEIGHTS_PATH = MODEL_FILES.weightsPath;
  const detector = await (await pluginModule<DetectorModule>('detector.js')).loadDetector(MODEL_FILES);
  const backend = await pluginModule<{ run(payload: unknown): Promise<{ detections: unknown[] }> }>('backend.js');
  const raster = decode.rasterFor(decode.decodeImage(Buffer.from(image.slice(image.indexOf(',') + 1), 'base64')), detector.inputSize);
  const payload = { image };
  await detector.infer(raster); // warm: the first execution compiles kernels
  await backend.run(payload);

  // Through the real worker host, the model provisioned offline from the package copy.
  const modelsDir = await mkdtemp(join(tmpdir(), 'aiplugs-bench-vision-'));
  const bus = createEventBus();
  const logger = createLogger({ bus, level: 'error', write: () => undefined });
  const provisioner = createModelProvisioner({ modelsDir, offline: true, bus, logger });
  const workers = createWorkerManager({ provisionModels: (plugin, signal) => provisioner.ensure(plugin, { signal }), modelsDir, logger, bus, keepAliveMs: 0 });
  const plugin = (await loadPlugin(PLUGIN_DIR, 'super-vision')) as LoadedPlugin;
  const signal = new AbortController().signal;

  const model: number[] = [];
  const full: number[] = [];
  const worker: number[] = [];
  const wall = { model: [] as number[], full: [] as number[], worker: [] as number[] };
  let workerRss: number | null = null;
  let coldMs = NaN;
  try {
    const coldStarted = performance.now();
    await workers.infer(plugin, payload, signal); // start + load once: warm calls are measured
    coldMs = performance.now() - coldStarted;
    const pid = workers.status('super-vision')?.pid;
    if (!pid) throw new Error('the super-vision worker has no pid');
    for (let round = 0; round < ROUNDS; round++) {
      const a = await timeInProcess(() => detector.infer(raster));
      const b = await timeInProcess(() => backend.run(payload));
      const cpuBefore = (await cpuMs(pid)) ?? NaN;
      const started = performance.now();
      for (let i = 0; i < CALLS; i++) await workers.infer(plugin, payload, signal);
      const c = { cpuMs: (((await cpuMs(pid)) ?? NaN) - cpuBefore) / CALLS, wallMs: (performance.now() - started) / CALLS };
      model.push(a.cpuMs);
      full.push(b.cpuMs);
      worker.push(c.cpuMs);
      wall.model.push(a.wallMs);
      wall.full.push(b.wallMs);
      wall.worker.push(c.wallMs);
    }
    workerRss = await rssMb(pid);
  } finally {
    await workers.stop();
    detector.dispose();
    await rm(modelsDir, { recursive: true, force: true });
  }
  const ratios = (values: number[]) => range(values.map((value, i) => value / model[i]!), 2);
  const base = { rounds: ROUNDS, callsPerRound: CALLS };
  return [
    { contender: 'model: CenterNet graph on a 512² input (baseline)', ...base, cpuMsPerCall: range(model), wallMsPerCall: range(wall.model), vsModelCpu: '1', note: 'tfjs-backend-wasm (SIMD, 1 thread), in process' },
    { contender: 'run(): JPEG data URL → boxes, in process', ...base, cpuMsPerCall: range(full), wallMsPerCall: range(wall.full), vsModelCpu: ratios(full), note: 'base64 + jpeg-js decode + 1×1 shrink + graph + suppression' },
    { contender: 'worker: the same through the Node worker host', ...base, cpuMsPerCall: range(worker), wallMsPerCall: range(wall.worker), vsModelCpu: ratios(worker), note: `worker CPU from /proc; first call (spawn + model load + detection) ${coldMs.toFixed(0)} ms; worker RSS after the run ${workerRss ?? '?'} MB (workers.max_memory_mb: 4096)` },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.table(await run());
}
