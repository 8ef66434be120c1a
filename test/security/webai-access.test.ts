/**
 * Who may use Web AI (docs/WEBAI.md, SECURITY.md): pages reach the Web AI routes only with a
 * capability that carries the Web AI grant, on their own origin, while AiPlugs works there;
 * anything served by the cloud only from origins the user allowed; every origin within its rate
 * limits. Attacks first: each refusal below was seen to fail before the check existed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { answerJson, completion, startCloudTestServer, type CloudTestServer } from '../../gateway/src/inference/testing/cloud-test-server.js';
import { startWebAiHarness, type WebAiHarness } from '../../gateway/src/webai/testing/webai-harness.js';

const SITE = 'https://site.example';
const OTHER = 'https://other.example';

const errorCode = async (response: Response) => ((await response.json()) as { error: { code: string } }).error.code;

describe('Web AI through the page bridge', () => {
  let harness: WebAiHarness;
  let cloud: CloudTestServer;

  before(async () => {
    cloud = await startCloudTestServer();
    cloud.handler = (_request, _body, response) => answerJson(response, 200, completion('A cloud summary.'));
    harness = await startWebAiHarness({
      configure: (config) => {
        config.cloud.base_url = cloud.baseUrl;
        config.webai.cloud_apis = ['summarizer', 'language-model'];
        config.webai.page_requests_per_minute = 3;
        config.cloud.page_max_input_bytes = 8 * 1024;
      },
    });
  });
  after(async () => {
    await harness?.close();
    await cloud.close();
  });

  it('answers a page whose capability carries the Web AI grant', async () => {
    const reply = await harness.page(SITE)('/api/webai/translator/availability', { options: { sourceLanguage: 'en', targetLanguage: 'fr' } });
    assert.equal(reply.status, 200);
    assert.deepEqual(await reply.json(), { availability: 'downloadable' });
  });

  it('refuses a page whose capability has no Web AI grant', async () => {
    const call = harness.page(SITE, { webai: false });
    for (const [path, body] of [
      ['/api/webai/translator/availability', { options: { sourceLanguage: 'en', targetLanguage: 'fr' } }],
      ['/api/webai/summarizer/summarize', { input: 'text' }],
      ['/api/webai/language-model/create', {}],
    ] as const) {
      const reply = await call(path, body);
      assert.equal(reply.status, 403, path);
      assert.equal(await errorCode(reply), 'webai_not_granted', path);
    }
  });

  it('refuses a forged capability, and one minted for another site', async () => {
    const forged = await harness.page(SITE, { capability: `${'A'.repeat(40)}.${'B'.repeat(43)}` })('/api/webai/summarizer/availability', {});
    assert.equal(forged.status, 403);
    assert.equal(await errorCode(forged), 'capability_invalid');
    const stolen = await harness.page(OTHER, { capability: harness.mintFor(SITE) })('/api/webai/summarizer/availability', {});
    assert.equal(stolen.status, 403);
    assert.equal(await errorCode(stolen), 'capability_invalid');
  });

  it('refuses pages on a paused or switched-off site, even with the grant', async () => {
    const call = harness.page(SITE);
    await harness.settings.update({ disabled_sites: ['site.example'] });
    try {
      const reply = await call('/api/webai/translator/availability', { options: { sourceLanguage: 'en', targetLanguage: 'fr' } });
      assert.equal(reply.status, 403);
      assert.equal(await errorCode(reply), 'webai_not_granted');
    } finally {
      await harness.settings.update({ disabled_sites: [] });
    }
    assert.equal((await call('/api/webai/translator/availability', { options: { sourceLanguage: 'en', targetLanguage: 'fr' } })).status, 200);
  });

  it('never exposes the status view or other verbs to pages', async () => {
    const call = harness.page(SITE);
    assert.equal((await call('/api/webai/status')).status, 403);
    assert.equal((await call('/api/webai/summarizer/availability', undefined, 'GET')).status, 403);
  });

  it('lets only origins the user allowed reach the cloud, and says so in availability()', async () => {
    const call = harness.page(OTHER);
    const before = cloud.seen.length;
    assert.deepEqual(await (await call('/api/webai/summarizer/availability', {})).json(), { availability: 'unavailable' });
    const refused = await call('/api/webai/summarizer/summarize', { input: 'A long article.' });
    assert.equal(refused.status, 403);
    const body = (await refused.json()) as { error: { code: string; name: string; message: string } };
    assert.deepEqual([body.error.code, body.error.name], ['webai_cloud_not_allowed', 'NotAllowedError']);
    assert.doesNotMatch(body.error.message, /webai_cloud_origins|127\.0\.0\.1/, 'a page learns no configuration detail');
    assert.equal(cloud.seen.length, before, 'nothing reached the cloud');

    await harness.settings.update({ webai_cloud_origins: [OTHER] });
    try {
      assert.deepEqual(await (await call('/api/webai/summarizer/availability', {})).json(), { availability: 'available' });
      const served = await call('/api/webai/summarizer/summarize', { input: 'A long article.' });
      assert.equal(served.status, 200);
      assert.deepEqual(((await served.json()) as { result: string; backend: string }).result, 'A cloud summary.');
      assert.equal(cloud.seen.length, before + 1);
    } finally {
      await harness.settings.update({ webai_cloud_origins: [] });
    }
  });

  it("holds a page's cloud call to the input cap, a response constraint's schema counted with the prompt", async () => {
    const origin = 'https://schema.example';
    await harness.settings.update({ webai_cloud_origins: [origin] });
    try {
      const before = cloud.seen.length;
      // A short prompt with a 20 KB schema kept out of the prompt (omitResponseConstraintInput): cloud
      // servers bill the schema as input all the same, and it went out uncounted.
      const schema = { type: 'object', properties: Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`field_${i}`, { type: 'string', description: 'x'.repeat(30) }])) };
      const reply = await harness.page(origin)('/api/webai/language-model/prompt', { input: 'hi', responseConstraint: schema, omitResponseConstraintInput: true });
      assert.equal(reply.status, 413);
      assert.equal(await errorCode(reply), 'cloud_input_too_large');
      assert.equal(cloud.seen.length, before, 'nothing reached the cloud');
    } finally {
      await harness.settings.update({ webai_cloud_origins: [] });
    }
  });

  it('holds each origin to its calls per minute', async () => {
    const origin = 'https://busy.example';
    await harness.settings.update({ webai_cloud_origins: [origin] });
    const call = harness.page(origin);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await call('/api/webai/summarizer/summarize', { input: `call ${i}` })).status);
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    const limited = await call('/api/webai/summarizer/summarize', { input: 'again' });
    assert.deepEqual(((await limited.json()) as { error: { code: string; name: string } }).error, { code: 'webai_rate_limited', name: 'QuotaExceededError', message: 'This site made too many AI requests; try again shortly' });
    // The user's own calls (the token) are not a page's, and not limited by it.
    assert.equal((await harness.user('/api/webai/summarizer/summarize', { input: 'mine' })).status, 200);
  });
});
