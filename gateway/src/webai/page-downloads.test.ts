/**
 * A page must not make the gateway download the Web AI model (~400 MB by default) on its own:
 * the page runtime asks for a user gesture first, but a hostile page can call the bridge route
 * directly, so the gateway refuses a page's call that would start a download (create(), or any
 * call that needs the model: measure, prompt, summarize…) unless the user allowed page downloads
 * (`webai.page_downloads`) or the model is already there.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startModelServer, type ModelTestServer } from '../models/testing/model-test-server.js';
import { readEvents, startWebAiHarness, type WebAiHarness } from './testing/webai-harness.js';
import { buildTinyGguf } from './testing/tiny-gguf.js';

const DEFAULT_PATH = '/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/qwen2.5-0.5b-instruct-q4_k_m.gguf';
const ORIGIN = 'https://hostile.example';

describe('page-started model downloads', () => {
  let server: ModelTestServer;
  let harness: WebAiHarness;

  before(async () => {
    server = await startModelServer();
    server.files.set(DEFAULT_PATH, { content: buildTinyGguf({ seed: 3 }) });
    harness = await startWebAiHarness({
      configure: (config) => {
        config.models.mirror = `huggingface.co=${server.origin}`;
      },
    });
  });
  after(async () => {
    await harness?.close();
    await server?.close();
  });

  it('a page calling create directly cannot start the download (NotAllowedError), and nothing is fetched', async () => {
    const page = harness.page(ORIGIN);
    const availability = (await (await page('/api/webai/language-model/availability', {})).json()) as { availability: string };
    assert.equal(availability.availability, 'downloadable', 'the page is told the truth');
    const response = await page('/api/webai/language-model/create', {});
    const events = response.ok ? await readEvents(response) : [{ event: 'error', data: await response.json() }];
    const last = events.at(-1)!;
    assert.equal(last.event, 'error', `create must fail: ${JSON.stringify(events)}`);
    assert.deepEqual((last.data as { error: { code: string; name: string } }).error.name, 'NotAllowedError');
    assert.equal(server.requestsFor(DEFAULT_PATH).length, 0, 'the model server was never asked');
  });

  for (const [route, body] of [
    ['language-model/measure', { input: 'hi' }],
    ['language-model/prompt', { input: 'hi' }],
    ['summarizer/summarize', { input: 'hello world', stream: true }],
  ] as const) {
    it(`nor by skipping create: ${route} is refused the same way, and nothing is fetched`, async () => {
      const response = await harness.page(ORIGIN)(`/api/webai/${route}`, body);
      const events = response.ok ? await readEvents(response) : [{ event: 'error', data: await response.json() }];
      const last = events.at(-1)!;
      assert.equal(last.event, 'error', `${route} must fail: ${JSON.stringify(events)}`);
      assert.equal((last.data as { error: { name: string } }).error.name, 'NotAllowedError');
      assert.equal(server.requestsFor(DEFAULT_PATH).length, 0, 'the model server was never asked');
    });
  }

  it('the user (token) may start it, and afterwards pages create() on the present model', async () => {
    const events = await readEvents(await harness.user('/api/webai/language-model/create', {}));
    assert.equal(events.at(-1)?.event, 'ready', JSON.stringify(events.at(-1)));
    const page = harness.page(ORIGIN);
    const again = await readEvents(await page('/api/webai/language-model/create', {}));
    assert.equal(again.at(-1)?.event, 'ready', JSON.stringify(again.at(-1)));
  });

  it('with webai.page_downloads on, a page may start the download', async () => {
    const fresh = await startWebAiHarness({
      configure: (config) => {
        config.models.mirror = `huggingface.co=${server.origin}`;
        config.webai.page_downloads = true;
      },
    });
    try {
      const events = await readEvents(await fresh.page(ORIGIN)('/api/webai/summarizer/create', {}));
      assert.equal(events.at(-1)?.event, 'ready', JSON.stringify(events.at(-1)));
    } finally {
      await fresh.close();
    }
  });
});
