/**
 * Runs one `ensure()` in its own process, for tests that need a real second process (crash and
 * resume, two gateways on one folder). Input: JSON in argv[2]. Output: one JSON object per line
 * on stdout — `progress` events, then `done` or `error`.
 */
import { createModelProvisioner } from '../model-provisioner.js';
import { ModelError } from '../model-error.js';
import { testPlugin, type TestModel } from './model-test-server.js';

interface ChildInput {
  modelsDir: string;
  pluginDir: string;
  pluginId: string;
  models: TestModel[];
  lockStaleMs?: number;
}

const input = JSON.parse(process.argv[2] ?? '{}') as ChildInput;
const say = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);
const provisioner = createModelProvisioner({
  modelsDir: input.modelsDir,
  lockStaleMs: input.lockStaleMs ?? 2000,
  lockPollMs: 50,
  progressIntervalMs: 0,
  retryBaseMs: 10,
});
try {
  const env = await provisioner.ensure(testPlugin(input.pluginId, input.pluginDir, input.models), {
    onProgress: (progress) => say({ event: 'progress', state: progress.state, receivedBytes: progress.receivedBytes }),
  });
  say({ event: 'done', env });
} catch (error) {
  say({ event: 'error', code: error instanceof ModelError ? error.code : 'unknown', message: (error as Error).message });
  process.exitCode = 1;
}
