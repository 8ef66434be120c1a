import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import type { ApiEnv } from './api-env.js';
import { toErrorResponse } from './api-error.js';
import { guardRequests } from './guard-requests.js';

const API = 'http://127.0.0.1:5000';
const TOKEN = 'guard-test-token-0123456789abcdefghijklmnop';

/** An API whose plugin calls wait until `finish()`, behind the guard with a limit of 2 calls in flight per site. */
function waitingApi() {
  let finish = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const app = new Hono<ApiEnv>();
  app.onError((error, c) => toErrorResponse(error, c, () => undefined));
  app.use('*', guardRequests({ token: TOKEN, activeOnSite: () => true, apiOrigins: () => [API], maxPageCallsInFlight: 2 }));
  app.post('/api/plugins/:id/infer', async (c) => {
    await finished;
    return c.json({ result: c.get('caller') });
  });
  const call = async (origin: string) =>
    app.request(`${API}/api/plugins/echo/infer`, { method: 'POST', body: '{}', headers: { host: '127.0.0.1:5000', authorization: `Bearer ${TOKEN}`, 'x-aiplugs-page-origin': origin } });
  // Without the limit a call over it would wait with the others: bounded, so that fails rather than hangs.
  const statusWithin2s = (answer: Promise<Response>) => Promise.race([answer.then(({ status }) => status), new Promise((resolve) => setTimeout(() => resolve('still waiting'), 2000))]);
  return { call, statusWithin2s, finish: () => finish() };
}

describe('calls the extension makes for a page', () => {
  it("are counted per site, as the bridge counts a site's calls: one over the limit gets 429", async () => {
    const { call, statusWithin2s, finish } = waitingApi();
    const first = [call('https://a.test'), call('https://a.test')];
    assert.equal(await statusWithin2s(call('https://a.test')), 429);
    // Another site is not held up by this one, and the token alone is not a page.
    const other = call('https://b.test');
    finish();
    const answers = await Promise.all([...first, other]);
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [200, 200, 200],
    );
    assert.deepEqual(await answers[2]!.json(), { result: { kind: 'page', origin: 'https://b.test', session: 'extension' } });
    // Finished calls give their places back.
    assert.equal((await call('https://a.test')).status, 200);
  });

  it("are counted per site: a site's subdomains, ports and schemes share its limit", async () => {
    const { call, statusWithin2s, finish } = waitingApi();
    const first = [call('https://a.shop.com'), call('http://b.shop.com:8080')];
    assert.equal(await statusWithin2s(call('https://c.d.shop.com')), 429, 'a third subdomain of the site');
    const others = [call('https://alice.github.io'), call('https://bob.github.io')];
    finish();
    assert.deepEqual(
      (await Promise.all([...first, ...others])).map((answer) => answer.status),
      [200, 200, 200, 200],
    );
  });
});
