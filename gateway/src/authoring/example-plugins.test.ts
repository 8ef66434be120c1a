import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createModelProvisioner, type ModelProvisioner } from '../models/model-provisioner.js';
import { loadPlugin, type LoadedPlugin } from '../plugins/plugin-registry.js';
import { PACKAGE_ROOT } from '../package-paths.js';
import { createWorkerManager, type WorkerManager } from '../workers/worker-manager.js';
import { recordingLogger } from '../workers/test-support.js';

/**
 * The example plugins in plugins/ through the real provisioner and worker hosts (no gateway, no
 * browser: the e2e tests in e2e/plugins/ do that). Offline mode: only the package-local `file:`
 * mirrors are used, so this never touches the network.
 */
const PLUGINS_DIR = fileURLToPath(new URL('plugins/', PACKAGE_ROOT));
const EXAMPLES = ['ask-page', 'echo', 'heavy-math-solver', 'image-reader', 'language-lens', 'page-summarizer', 'super-vision'];
/** Examples written to the browser's standard AI APIs (Web AI): no backend, no model, no cloud settings of their own. */
const WEB_AI_EXAMPLES = ['ask-page', 'language-lens', 'page-summarizer'];

async function example(id: string): Promise<LoadedPlugin> {
  const record = await loadPlugin(join(PLUGINS_DIR, id), id);
  assert.equal(record.status, 'enabled', record.status === 'error' ? `${id}: ${record.errors.join('; ')}` : '');
  return record as LoadedPlugin;
}

describe('example plugins', () => {
  it('every folder in plugins/ loads, has a README, and names its folder as its id', async () => {
    const folders = (await readdir(PLUGINS_DIR, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
    for (const id of EXAMPLES) assert.ok(folders.includes(id), `plugins/${id} exists`);
    for (const id of EXAMPLES) {
      const plugin = await example(id);
      assert.equal(plugin.manifest.id, id);
      if (id !== 'echo') await stat(join(PLUGINS_DIR, id, 'README.md'));
    }
  });

  it('the Web AI examples declare no inference of their own: the gateway serves the standard APIs they call', async () => {
    for (const id of WEB_AI_EXAMPLES) assert.equal((await example(id)).manifest.inference, undefined, `${id} has no backend`);
  });

  it('model mirrors are package files that exist after npm install and match the declared SHA-256 and size', async () => {
    for (const id of ['image-reader', 'super-vision']) {
      const plugin = await example(id);
      const models = plugin.manifest.inference?.models ?? [];
      assert.ok(models.length > 0, `${id} declares its model`);
      for (const model of models) {
        assert.match(model.source_url, /^https:\/\//, 'the official URL comes first');
        const mirror = model.mirrors.find((url) => url.startsWith('file:../../node_modules/'));
        assert.ok(mirror, `${id}: a file: mirror inside node_modules, relative to the plugin folder`);
        const path = join(PLUGINS_DIR, id, decodeURIComponent(mirror.slice('file:'.length)));
        assert.equal((await stat(path)).size, model.size);
      }
    }
  });

  describe('backends, through the provisioner and the real worker hosts', () => {
    let modelsDir: string;
    let provisioner: ModelProvisioner;
    let workers: WorkerManager;
    const recorder = recordingLogger();
    before(async () => {
      modelsDir = await mkdtemp(join(tmpdir(), 'aiplugs-example-models-'));
      provisioner = createModelProvisioner({ modelsDir, offline: true, bus: recorder.bus, logger: recorder.logger, progressIntervalMs: 0 });
      workers = createWorkerManager({
        provisionModels: (plugin, signal) => provisioner.ensure(plugin, { signal }),
        modelsDir,
        logger: recorder.logger,
        bus: recorder.bus,
        keepAliveMs: 0,
      });
    });
    after(async () => {
      await workers.stop();
      await rm(modelsDir, { recursive: true, force: true });
    });
    const signal = () => new AbortController().signal;

    it('super-vision: both CenterNet files are provisioned from the package mirror, loaded from their keys, and find the dog, the bicycle and the car', async () => {
      const plugin = await example('super-vision');
      const photo = await readFile(fileURLToPath(new URL('test/fixtures/photos/dog.jpg', PACKAGE_ROOT)));
      const answer = (await workers.infer(plugin, { image: `data:image/jpeg;base64,${photo.toString('base64')}` }, signal())) as {
        model: string;
        image: { width: number; height: number };
        detections: Array<{ label: string; score: number }>;
      };
      assert.equal(answer.model, 'centernet');
      assert.deepEqual(answer.image, { width: 768, height: 576 });
      for (const label of ['dog', 'bicycle', 'car']) assert.ok(answer.detections.some((found) => found.label === label && found.score >= 0.35), `${label} in ${JSON.stringify(answer.detections)}`);
      const graph = join(modelsDir, 'centernet.json');
      const weights = join(modelsDir, 'centernet.bin');
      assert.equal((await stat(weights)).size, 4030290);
      assert.ok(recorder.lines.some((line) => line.includes(`super-vision: loaded CenterNet ${graph} + ${weights}`)), 'the backend loaded the files the env named');
      // A page naming an address on this machine gets a refusal it can show, and no fetch.
      const refused = (await workers.infer(plugin, { url: 'http://localhost:9/photo.jpg' }, signal())) as { refused: { code: string; message: string } };
      assert.equal(refused.refused.code, 'address_refused');
      await assert.rejects(workers.infer(plugin, { image: 'x', url: 'https://example.org/x.jpg' }, signal()), /exactly one of "image" and "url"/);
    });

    it('heavy-math-solver: exact arithmetic and equations, and text that only looks like math left alone', async () => {
      const plugin = await example('heavy-math-solver');
      const solve = async (text: string) => ((await workers.infer(plugin, { text }, signal())) as { problems: Array<{ answer: string }> }).problems.map((problem) => problem.answer);
      assert.deepEqual(await solve('What is 12 * (3 + 4)?'), ['12 * (3 + 4) = 84']);
      assert.deepEqual(await solve('Solve 2x + 3 = 11 for x.'), ['x = 4']);
      assert.deepEqual(await solve('x^2 - 5x + 6 = 0'), ['x = 2 or x = 3']);
      assert.deepEqual(await solve('1/3 + 1/6'), ['1/3 + 1/6 = 1/2']);
      assert.deepEqual(await solve('15% of 200'), ['15% * 200 = 30']);
      assert.deepEqual(await solve('2^10 − 24 ÷ 4'), ['2^10 - 24 / 4 = 1018']);
      assert.deepEqual(await solve('Meet on 2024-05-01, call 555-1234.'), []);
      assert.deepEqual(await solve('__import__("os").system("true")'), []);
      const skipped = (await workers.infer(plugin, { text: '5/0' }, signal())) as { skipped: Array<{ reason: string }> };
      assert.deepEqual(skipped.skipped.map((item) => item.reason), ['division by zero']);
    });
  });
});
