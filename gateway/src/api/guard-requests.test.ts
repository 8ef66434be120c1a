import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import type { ApiEnv } from './api-env.js';
import { toErrorResponse } from './api-error.js';
import { guardRequests } from './guard-requests.js';

const API = 'http://127.0.0.1:5000';
const TOKEN = 'guard-test-token-0123456789abcdefghijklmnop';

describe('calls the extension makes for a page', () => {
  it("are counted per page origin, as the bridge counts a site's calls: one over the limit gets 429", async () => {
    // A plugin call that waits until the test lets it finish.
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
    const first = [call('https://a.test'), call('https://a.test')];
    // Without the limit the third call would wait with the others: bounded, so that fails rather than hangs.
    const third = await Promise.race([call('https://a.test').then((answer) => answer.status), new Promise((resolve) => setTimeout(() => resolve('still waiting'), 2000))]);
    assert.equal(third, 429);
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
    let finish = () => {};
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const app = new Hono<ApiEnv>();
    app.onError((error, c) => toErrorResponse(error, c, () => undefined));
    app.use('*', guardRequests({ token: TOKEN, activeOnSite: () => true, apiOrigins: () => [API], maxPageCallsInFlight: 2 }));
    app.post('/api/plugins/:id/infer', async (c) => {
      await finished;
      return c.json({});
    });
    const call = async (origin: string) =>
      app.request(`${API}/api/plugins/echo/infer`, { method: 'POST', body: '{}', headers: { host: '127.0.0.1:5000', authorization: `Bearer ${TOKEN}`, 'x-aiplugs-page-origin': origin } });
    const first = [call('https://a.shop.com'), call('http://b.shop.com:8080')];
    const third = await Promise.race([call('https://c.d.shop.com').then((answer) => answer.status), new Promise((resolve) => setTimeout(() => resolve('still waiting'), 2000))]);
    assert.equal(third, 429, 'a third subdomain of the site');
    const other = call('https://alice.github.io');
    const another = call('https://bob.github.io');
    finish();
    assert.deepEqual(
      (await Promise.all([...first, other, another])).map((answer) => answer.status),
      [200, 200, 200, 200],
    );
  });
});
