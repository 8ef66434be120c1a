import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createEventBus, type EventBus, type GatewayEvent } from '../events/event-bus.js';
import { createLogger, type Logger } from '../events/logger.js';
import { loadPlugin, type LoadedPlugin } from '../plugins/plugin-registry.js';
import { createWorkerManager, type WorkerManager, type WorkerManagerOptions } from './worker-manager.js';

/** Test helpers shared by the worker, router and connection tests (not used by the gateway). */

export const FIXTURE_PLUGINS = fileURLToPath(new URL('./fixtures/plugins/', import.meta.url));

export async function fixturePlugin(id: string, dir = FIXTURE_PLUGINS): Promise<LoadedPlugin> {
  const record = await loadPlugin(`${dir}${dir.endsWith('/') ? '' : '/'}${id}`, id);
  if (record.status !== 'enabled') throw new Error(`fixture ${id} is broken: ${record.errors.join('; ')}`);
  return record;
}

/** A logger that records every line (for "the print reached the log" assertions) and stays quiet. */
export function recordingLogger(): { logger: Logger; bus: EventBus; lines: string[]; events: GatewayEvent[] } {
  const bus = createEventBus({ history: 10_000 });
  const lines: string[] = [];
  const events: GatewayEvent[] = [];
  bus.subscribe((event) => events.push(event));
  const logger = createLogger({ bus, level: 'debug', write: (line) => lines.push(line) });
  return { logger, bus, lines, events };
}

/** Polls until `check` returns a truthy value; fails after `timeoutMs` (a hang guard, not a timing assertion). */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * True while a process with this pid exists (signal 0 only checks) and is not a zombie: a killed
 * process whose parent is gone waits for init to reap it, which can take a while in a container.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

/** A rejected promise's ApiError code (or the error's name) for compact assertions. */
export async function errorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code ?? (error as Error).name;
  }
  throw new Error('expected the promise to reject');
}

/** Where the test managers say models are: no fixture reads them. */
export const MODELS_DIR = '/opt/aiplugs-test-models';
const modelPaths = async (plugin: LoadedPlugin) => Object.fromEntries(plugin.manifest.inference!.models.map((model) => [model.key, join(MODELS_DIR, model.filename)]));

/**
 * A worker manager per call, with a recording logger, quick crash backoff and no keep-alive; every
 * one of them is stopped after the calling file's tests. Call it at the top level of a test file.
 */
export function workerManagers(): (overrides?: Partial<WorkerManagerOptions>) => { workers: WorkerManager } & ReturnType<typeof recordingLogger> {
  const managers: WorkerManager[] = [];
  after(() => Promise.all(managers.map((workers) => workers.stop())));
  return (overrides = {}) => {
    const recorder = recordingLogger();
    const workers = createWorkerManager({
      provisionModels: modelPaths,
      modelsDir: MODELS_DIR,
      logger: recorder.logger,
      bus: recorder.bus,
      keepAliveMs: 0,
      crash: { initialBackoffMs: 10, maxBackoffMs: 50 },
      ...overrides,
    });
    managers.push(workers);
    return { workers, ...recorder };
  };
}

/**
 * Writes a plugin folder per `[id, entry file, source]` (a local backend, nothing else) into a new
 * temporary plugins folder, removed after this test file; returns that folder.
 */
export async function backendPlugins(description: string, backends: ReadonlyArray<readonly [id: string, entry: string, source: string]>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'aiplugs-backends-'));
  after(() => rm(root, { recursive: true, force: true }));
  for (const [id, entry, source] of backends) {
    await mkdir(join(root, id));
    await writeFile(join(root, id, entry), source);
    await writeFile(join(root, id, 'manifest.json'), JSON.stringify({ manifest_version: 3, id, name: id, version: '1.0.0', description, inference: { default_mode: 'local', local_entry: entry } }));
  }
  return root;
}
