/**
 * Web AI on the local path, for real: the tiny GGUF model the tests generate (random weights, a
 * valid SentencePiece vocabulary and ChatML template) is served by a loopback server under the
 * DEFAULT model declaration (config/config.json's Qwen URL, hash "pending", rewritten by
 * `models.mirror`), provisioned with progress, pinned in the lock file, and run by the real LLM
 * worker (node-llama-cpp) through the real worker manager and routes. Nothing leaves loopback.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sha256Hex, startModelServer, type ModelTestServer } from '../models/testing/model-test-server.js';
import { waitFor } from '../workers/test-support.js';
import { WEB_AI_LLM } from './builtin-plugins.js';
import { readEvents, startWebAiHarness, type WebAiHarness } from './testing/webai-harness.js';
import { buildTinyGguf } from './testing/tiny-gguf.js';

const DEFAULT_PATH = '/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/qwen2.5-0.5b-instruct-q4_k_m.gguf';
const tiny = buildTinyGguf({ seed: 7 });

async function serveTinyModel(throttle?: { chunkBytes: number; delayMs: number }): Promise<ModelTestServer> {
  const server = await startModelServer();
  server.files.set(DEFAULT_PATH, { content: tiny, ...(throttle ? { throttle } : {}) });
  return server;
}

const json = async <T>(response: Response) => (await response.json()) as T;

describe('the local LLM path on the tiny model, under the default declaration', () => {
  let server: ModelTestServer;
  let harness: WebAiHarness;

  before(async () => {
    server = await serveTinyModel({ chunkBytes: 64 * 1024, delayMs: 40 });
    harness = await startWebAiHarness({
      configure: (config) => {
        config.models.mirror = `huggingface.co=${server.origin}`;
        config.webai.context_size = 2048;
        config.webai.max_output_tokens = 400;
      },
    });
    assert.equal(harness.config.webai.model_sha256, 'pending', 'the default declaration is under test, not a test one');
  });
  after(async () => {
    await harness?.close();
    await server?.close();
  });

  it('provisions on create() with progress, says "downloading" meanwhile, and pins the hash', async () => {
    const user = (api: string) => harness.user(`/api/webai/${api}/availability`, {});
    assert.deepEqual(await json(await user('summarizer')), { availability: 'downloadable' });
    const creating = harness.user('/api/webai/summarizer/create', { options: { type: 'tldr' } });
    await waitFor(async () => (await json<{ availability: string }>(await user('writer'))).availability === 'downloading', 'availability says downloading');
    const events = await readEvents(await creating);
    const progress = events.filter((event) => event.event === 'progress').map((event) => (event.data as { loaded: number }).loaded);
    assert.equal(progress[0], 0);
    assert.equal(progress.at(-1), 1);
    assert.ok(progress.some((loaded) => loaded > 0 && loaded < 1), `intermediate progress: ${progress.join(', ')}`);
    assert.deepEqual(progress, [...progress].sort((a, b) => a - b), 'progress never goes back');
    const ready = events.at(-1)!;
    assert.equal(ready.event, 'ready', JSON.stringify(events.at(-1)));
    assert.ok((ready.data as { inputQuota: number }).inputQuota > 1000);
    assert.equal(server.requestsFor(DEFAULT_PATH).length, 1, 'fetched from the mirror, once');

    const lock = JSON.parse(await readFile(join(harness.root, 'models', '.aiplugs', 'models.lock.json'), 'utf8')) as { pins: Record<string, { sha256: string; source_url: string }> };
    const pin = lock.pins['qwen2.5-0.5b-instruct-q4_k_m.gguf'];
    assert.equal(pin?.sha256, sha256Hex(tiny), 'the first complete download is pinned');
    assert.equal(pin?.source_url, harness.config.webai.model_url, 'pinned for the declared (not the mirrored) URL');
    assert.deepEqual(await json(await user('language-model')), { availability: 'available' });
    const events2 = harness.events.filter((event) => event.type === 'model-progress' && event.plugin === WEB_AI_LLM);
    assert.ok(events2.some((event) => event.type === 'model-progress' && event.state === 'ready'), 'the dashboard hears about it');
  });

  it('summarizes, as JSON and streamed, counting tokens', async () => {
    const article = 'The tiny model reads this text. It is about a page and the world.';
    const plain = await json<{ result: string; usage: { inputTokens: number; outputTokens: number }; backend: string }>(await harness.user('/api/webai/summarizer/summarize', { options: { type: 'tldr' }, input: article }));
    assert.equal(plain.backend, 'local');
    assert.equal(typeof plain.result, 'string');
    assert.ok(plain.usage.inputTokens > 20 && plain.usage.outputTokens > 0, JSON.stringify(plain.usage));

    const streamed = await readEvents(await harness.user('/api/webai/summarizer/summarize', { options: { type: 'tldr' }, input: article, stream: true }));
    const chunks = streamed.filter((event) => event.event === 'chunk').map((event) => (event.data as { text: string }).text);
    const result = streamed.at(-1)!;
    assert.equal(result.event, 'result');
    assert.ok(chunks.length > 1, 'several chunks');
    assert.equal(chunks.join(''), (result.data as { result: string }).result, 'the chunks are the answer');
  });

  it('measures input usage and refuses input over the quota with QuotaExceededError', async () => {
    const measured = await json<{ tokens: number; inputQuota: number }>(await harness.user('/api/webai/language-model/measure', { input: 'hello world' }));
    assert.ok(measured.tokens > 2 && measured.tokens < 40, JSON.stringify(measured));
    const huge = '\u{1F600}'.repeat(4000); // byte-fallback tokens: four per emoji
    const over = await harness.user('/api/webai/language-model/prompt', { input: huge });
    assert.equal(over.status, 413);
    assert.deepEqual((await json<{ error: { code: string; name: string } }>(over)).error.name, 'QuotaExceededError');
  });

  it('cancels a generation mid-way: it stops, and the worker serves the next call', async () => {
    /** Tokens this worker generated so far (before the probe), and what the probe itself generated. */
    const probe = async () => {
      const chunks: Array<{ type: string; generatedSoFar?: number; outputTokens?: number }> = [];
      const settings = { contextSize: 2048, threads: 1, maxOutputTokens: 400 };
      await harness.workers.infer(harness.builtIns.llm, { op: 'generate', settings, messages: [{ role: 'user', content: 'Hi' }], sampling: { temperature: 1, topK: 3 }, maxTokens: 1 }, new AbortController().signal, (chunk) => chunks.push(chunk as never));
      return { before: chunks.find((chunk) => chunk.type === 'usage')!.generatedSoFar!, own: chunks.find((chunk) => chunk.type === 'done')?.outputTokens ?? 0 };
    };
    const start = await probe();
    const pid = harness.workers.status(WEB_AI_LLM)?.pid;
    const controller = new AbortController();
    const response = await harness.user('/api/webai/language-model/prompt', { input: 'Write a very long story.', stream: true }, { signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read(); // the answer has started
    controller.abort();
    await reader.cancel().catch(() => undefined);
    // One sequence, one generation at a time: this probe runs only once the story has stopped.
    const end = await probe();
    assert.equal(harness.workers.status(WEB_AI_LLM)?.pid, pid, 'same worker: cancelling did not kill it');
    const story = end.before - start.before - start.own;
    // Mid-way, not "within N ms": the tiny model writes tokens in microseconds, so how many slip
    // out before the abort lands depends on the machine's load (58 and 247 seen under CI load).
    // Short of the 400-token cap is what shows the abort stopped it.
    assert.ok(story >= 1 && story < 400, `the story stopped mid-way after the client left (${story} of up to 400 tokens)`);
  });

  it('holds the LanguageModel to a JSON schema through a grammar', async () => {
    const schema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] };
    const answer = await json<{ result: string }>(await harness.user('/api/webai/language-model/prompt', { input: 'Is it fine?', responseConstraint: schema }));
    assert.equal(typeof (JSON.parse(answer.result) as { ok: unknown }).ok, 'boolean', answer.result);
  });

  it('proofreads into correctedInput and corrections', async () => {
    const answer = await json<{ result: { correctedInput: string; corrections: Array<{ startIndex: number; endIndex: number; correction: string }> } }>(await harness.user('/api/webai/proofreader/proofread', { input: 'Ths is a tst.' }));
    const { correctedInput, corrections } = answer.result;
    let rebuilt = '';
    let at = 0;
    for (const correction of corrections) {
      rebuilt += 'Ths is a tst.'.slice(at, correction.startIndex) + correction.correction;
      at = correction.endIndex;
    }
    assert.equal(rebuilt + 'Ths is a tst.'.slice(at), correctedInput, 'the corrections turn the input into correctedInput');
  });

  it('answers unsupported options, bad options and wrong routes with the spec errors', async () => {
    const pair = await harness.user('/api/webai/translator/create', { options: { sourceLanguage: 'en', targetLanguage: 'sw' } });
    const [error] = await readEvents(pair);
    assert.deepEqual((error!.data as { error: { code: string; name: string } }).error.name, 'NotSupportedError');
    assert.deepEqual(await json(await harness.user('/api/webai/translator/availability', { options: { sourceLanguage: 'en', targetLanguage: 'sw' } })), { availability: 'unavailable' });
    const bad = await harness.user('/api/webai/summarizer/availability', { options: { type: 'essay' } });
    assert.equal(bad.status, 400);
    assert.equal((await json<{ error: { name: string } }>(bad)).error.name, 'TypeError');
    assert.equal((await harness.user('/api/webai/painter/availability', {})).status, 404);
    assert.equal((await harness.user('/api/webai/summarizer/translate', { input: 'x' })).status, 404);
    const image = await harness.user('/api/webai/language-model/prompt', { input: [{ role: 'user', content: [{ type: 'image', value: 'x' }] }] });
    assert.equal((await json<{ error: { name: string } }>(image)).error.name, 'NotSupportedError');
  });

  it('detects languages with the shared fastText model', async () => {
    const created = await readEvents(await harness.user('/api/webai/language-detector/create', {}));
    assert.equal(created.at(-1)?.event, 'ready', JSON.stringify(created));
    const detected = await json<{ results: Array<{ detectedLanguage: string; confidence: number }> }>(
      await harness.user('/api/webai/language-detector/detect', { input: 'Bonjour tout le monde, comment allez-vous aujourd’hui ?' }),
    );
    assert.equal(detected.results[0]?.detectedLanguage, 'fr');
    assert.equal(detected.results.at(-1)?.detectedLanguage, 'und');
    const total = detected.results.reduce((sum, result) => sum + result.confidence, 0);
    assert.ok(Math.abs(total - 1) < 0.01, `confidences sum to 1 (${total})`);
    const klingon = await readEvents(await harness.user('/api/webai/language-detector/create', { options: { expectedInputLanguages: ['tlh'] } }));
    assert.equal((klingon.at(-1)!.data as { error: { name: string } }).error.name, 'NotSupportedError');
  });
});

describe('the LLM worker under the worker manager', () => {
  let server: ModelTestServer;
  before(async () => {
    server = await serveTinyModel();
  });
  after(async () => server?.close());

  it('is unloaded when idle and loaded again on the next call', async () => {
    const harness = await startWebAiHarness({ configure: (config) => (config.models.mirror = `huggingface.co=${server.origin}`), workers: { keepAliveMs: 300 } });
    try {
      const first = await harness.user('/api/webai/language-model/measure', { input: 'hello' });
      assert.equal(first.status, 200, await first.clone().text());
      const pid = harness.workers.status(WEB_AI_LLM)?.pid;
      assert.ok(pid);
      await waitFor(() => harness.workers.status(WEB_AI_LLM)?.state === 'idle', 'the idle worker is unloaded');
      assert.equal(harness.workers.status(WEB_AI_LLM)?.pid, null);
      assert.equal((await harness.user('/api/webai/language-model/measure', { input: 'hello' })).status, 200);
      assert.notEqual(harness.workers.status(WEB_AI_LLM)?.pid, pid, 'a new worker');
    } finally {
      await harness.close();
    }
  });

  it('is stopped by the memory watchdog when over workers.max_memory_mb', async () => {
    const harness = await startWebAiHarness({ configure: (config) => (config.models.mirror = `huggingface.co=${server.origin}`), workers: { maxMemoryMb: 30 } });
    try {
      const events = await readEvents(await harness.user('/api/webai/language-model/create', {}));
      const last = events.at(-1)!;
      assert.equal(last.event, 'error');
      assert.equal((last.data as { error: { code: string } }).error.code, 'worker_memory_exceeded');
    } finally {
      await harness.close();
    }
  });
});

describe('a model file that cannot be loaded', () => {
  it('is "unavailable" once a create() failed to load it, and "available" again once the file is replaced (it stayed "available": every create() failed for good)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aiplugs-unloadable-'));
    const modelPath = join(dir, 'model.gguf');
    await writeFile(modelPath, randomBytes(300 * 1024));
    const harness = await startWebAiHarness({ configure: (config) => (config.webai.model_path = modelPath) });
    try {
      const availability = async (api: string) => (await json<{ availability: string }>(await harness.user(`/api/webai/${api}/availability`, {}))).availability;
      assert.equal(await availability('language-model'), 'available', 'a file is there: nothing says yet that it cannot load');
      const detector = await availability('language-detector');
      const failed = await readEvents(await harness.user('/api/webai/language-model/create', {}));
      assert.equal(failed.at(-1)!.event, 'error');
      assert.equal(await availability('language-model'), 'unavailable');
      assert.equal(await availability('summarizer'), 'unavailable', 'every API of that model');
      assert.equal(await availability('language-detector'), detector, 'another model is not concerned');
      await writeFile(modelPath, tiny);
      assert.equal(await availability('language-model'), 'available');
      assert.equal((await readEvents(await harness.user('/api/webai/language-model/create', {}))).at(-1)!.event, 'ready');
    } finally {
      await harness.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
