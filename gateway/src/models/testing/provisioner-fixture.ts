import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createEventBus, type GatewayEvent } from '../../events/event-bus.js';
import { createLogger } from '../../events/logger.js';
import { ModelError } from '../model-error.js';
import { createModelProvisioner, type ModelProvisionerOptions, type PluginWithModels } from '../model-provisioner.js';
import { sha256Hex, startModelServer, testPlugin, type ModelTestServer, type ServedFile } from './model-test-server.js';

/**
 * What a provisioner test needs: a temporary models folder, a plugin folder, a loopback model
 * server, and the events and log lines the provisioner produced. Everything is removed after the test.
 */
export interface Fixture {
  root: string;
  modelsDir: string;
  pluginDir: string;
  server: ModelTestServer;
  events: GatewayEvent[];
  logLines: string[];
  provisioner(extra?: Partial<ModelProvisionerOptions>): ReturnType<typeof createModelProvisioner>;
}

export async function fixture(t: TestContext): Promise<Fixture> {
  const root = await mkdtemp(join(tmpdir(), 'aiplugs-models-'));
  const modelsDir = join(root, 'models');
  const pluginDir = join(root, 'plugins', 'p');
  await mkdir(pluginDir, { recursive: true });
  const server = await startModelServer();
  const bus = createEventBus({ history: 10_000 });
  const events: GatewayEvent[] = [];
  bus.subscribe((event) => events.push(event));
  const logLines: string[] = [];
  const logger = createLogger({ bus, level: 'debug', write: (line) => logLines.push(line) });
  t.after(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });
  return {
    root,
    modelsDir,
    pluginDir,
    server,
    events,
    logLines,
    provisioner: (extra = {}) =>
      createModelProvisioner({
        modelsDir,
        bus,
        logger,
        retryBaseMs: 5,
        retryMaxMs: 20,
        stallTimeoutMs: 300,
        lockPollMs: 20,
        progressIntervalMs: 0,
        logIntervalMs: 0,
        ...extra,
      }),
  };
}

/** Awaits `promise` and checks that it rejects with a `ModelError` of `code`. */
export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<ModelError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ModelError, `expected a ModelError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected a rejection with ${code}`);
}

/** Serves `content` at `/path` and returns a plugin declaring it as MODEL. */
export function serve(f: Fixture, path: string, content: Buffer, extra: Partial<ServedFile> = {}): PluginWithModels {
  f.server.files.set(path, { content, ...extra });
  return testPlugin('p', f.pluginDir, [{ key: 'MODEL', filename: path.split('/').pop() ?? 'm.bin', source_url: f.server.url(path), sha256: sha256Hex(content) }]);
}

/** The `.part` files in `dir`. */
export const leftovers = async (dir: string) => (await readdir(dir)).filter((name) => name.endsWith('.part'));
