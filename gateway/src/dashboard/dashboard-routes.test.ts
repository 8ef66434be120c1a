import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import type { ApiEnv } from '../api/api-env.js';
import { guardRequests } from '../api/guard-requests.js';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import { createEventBus } from '../events/event-bus.js';
import { createLogger } from '../events/logger.js';
import { createDashboardAuth } from './dashboard-auth.js';
import { dashboardApi, dashboardPages, type DashboardOptions } from './dashboard-routes.js';
import { SESSION_KEY_HEADER, SESSION_KEY_PARAM } from './page/session-names.js';

const ORIGIN = 'http://127.0.0.1:5000';
const TOKEN = 'test-token-0123456789abcdefghijklmnopqrstuv';

function makeApp() {
  const auth = createDashboardAuth({ cookieName: 'aiplugs_session_5000' });
  let shutdowns = 0;
  const options: DashboardOptions = {
    auth,
    token: TOKEN,
    version: '0.0.0',
    ca: { certPath: '/x/ca.pem', keyPath: '/x/ca.key', cert: '', key: '', spki: 'spki', notAfter: new Date() } as CertificateAuthority,
    dataDir: '/nonexistent',
    logger: createLogger({ bus: createEventBus(), level: 'error', write: () => undefined }),
    overview: () => ({ apiUrl: ORIGIN, proxyUrl: 'http://127.0.0.1:8080', apiPort: 5000, proxyPort: 8080 }),
    requestShutdown: () => {
      shutdowns += 1;
    },
  };
  const app = new Hono<ApiEnv>();
  app.onError((error, c) => c.json({ error: { message: error.message } }, (error as { status?: number }).status as 401 ?? 500));
  app.use('*', guardRequests({ token: TOKEN, activeOnSite: () => false, apiOrigins: () => [ORIGIN], isDashboardSession: auth.isSession }));
  app.route('/', dashboardPages(options));
  app.route('/api', dashboardApi(options));
  app.patch('/api/settings', (c) => c.json({ ok: true }));
  const request = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
    app.request(`${ORIGIN}${path}`, { ...init, headers: { host: '127.0.0.1:5000', ...init.headers } });
  return { app, auth, request, shutdowns: () => shutdowns };
}

/** What a sign-in's answer gives the browser: the session cookie, and the key the page gets in the fragment it goes on to. */
function sessionOf(response: Response): { cookie: string; key: string } {
  const key = new URLSearchParams(new URL(response.headers.get('location') ?? '', ORIGIN).hash.slice(1)).get(SESSION_KEY_PARAM) ?? '';
  return { cookie: (response.headers.get('set-cookie') ?? '').split(';')[0]!, key };
}

/** Signs in with a login link. */
async function signIn(request: ReturnType<typeof makeApp>['request'], auth: ReturnType<typeof makeApp>['auth']): Promise<{ cookie: string; key: string }> {
  const response = await request(`/login?code=${auth.mintLoginCode()}`);
  assert.equal(response.status, 303);
  return sessionOf(response);
}

describe('dashboard routes behind the API guard', () => {
  it('sends a browser without a session to /login, and API calls get 401', async () => {
    const { request } = makeApp();
    const page = await request('/', { headers: { accept: 'text/html' } });
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), '/login');
    assert.equal((await request('/api/dashboard/pairing')).status, 401);
    const login = await request('/login');
    assert.equal(login.status, 200);
    assert.match(await login.text(), /API token/);
  });

  it('a login link signs in once; the session reaches the page and the API', async () => {
    const { request, auth } = makeApp();
    const code = auth.mintLoginCode();
    const first = await request(`/login?code=${code}`);
    assert.equal(first.status, 303);
    assert.match(first.headers.get('set-cookie') ?? '', /^aiplugs_session_5000=[\w-]+; Path=\/; HttpOnly; SameSite=Strict$/);
    assert.equal((await request(`/login?code=${code}`)).status, 401);
    const { cookie, key } = sessionOf(first);
    const page = await request('/', { headers: { cookie } });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.deepEqual(await (await request('/api/dashboard/pairing', { headers: { cookie, [SESSION_KEY_HEADER]: key } })).json(), { token: TOKEN, apiUrl: ORIGIN });
  });

  it("the session cookie alone, which the browser also sends to every other port of 127.0.0.1, neither reads the token nor changes anything", async () => {
    // Another local account's server on another port gets the cookie from any request the browser
    // makes to it; the dashboard's calls also carry the session's key, which only its own page has.
    const { request, auth } = makeApp();
    const { cookie, key } = await signIn(request, auth);
    assert.match(key, /^[\w-]{40,}$/, 'the sign-in hands the page its key in the fragment, which no server sees');
    assert.equal((await request('/api/dashboard/pairing', { headers: { cookie } })).status, 401);
    assert.equal((await request('/api/events', { headers: { cookie } })).status, 401);
    assert.equal((await request('/api/settings', { method: 'PATCH', headers: { cookie, origin: ORIGIN, 'content-type': 'application/json' }, body: '{}' })).status, 401);
    assert.equal((await request('/api/dashboard/pairing', { headers: { cookie, [SESSION_KEY_HEADER]: 'guessed' } })).status, 401);
    assert.deepEqual(await (await request('/api/dashboard/pairing', { headers: { cookie, [SESSION_KEY_HEADER]: key } })).json(), { token: TOKEN, apiUrl: ORIGIN });
    // EventSource cannot send headers: the event stream takes the key in its query (past the guard: this app has no stream).
    assert.equal((await request(`/api/events?${SESSION_KEY_PARAM}=${key}`, { headers: { cookie } })).status, 404);
    // Nor by another spelling of an API path, which the router takes for the same route.
    for (const path of ['/%61pi/dashboard/pairing', '/api/dashboard/%70airing', '//api/dashboard/pairing']) {
      assert.notEqual((await request(path, { headers: { cookie } })).status, 200, path);
    }
    // The page itself needs only the cookie (it holds no secret), and so does signing out (a form).
    assert.equal((await request('/', { headers: { cookie, accept: 'text/html' } })).status, 200);
    const out = await request('/logout', { method: 'POST', headers: { cookie, origin: ORIGIN } });
    assert.equal(out.status, 303);
    assert.equal((await request('/api/dashboard/pairing', { headers: { cookie, [SESSION_KEY_HEADER]: key } })).status, 401, 'the session is over');
  });

  it('a session changes things only from the dashboard origin; the bearer token works anywhere', async () => {
    const { request, auth } = makeApp();
    const session = await signIn(request, auth);
    const cookie = session.cookie;
    const key = { [SESSION_KEY_HEADER]: session.key };
    const patch = (headers: Record<string, string>) => request('/api/settings', { method: 'PATCH', headers: { 'content-type': 'application/json', ...headers }, body: '{}' });
    assert.equal((await patch({ cookie, ...key })).status, 403);
    assert.equal((await patch({ cookie, ...key, origin: 'https://evil.example' })).status, 403);
    assert.equal((await patch({ cookie, ...key, origin: ORIGIN })).status, 200);
    assert.equal((await patch({ authorization: `Bearer ${TOKEN}` })).status, 200);
    assert.equal((await patch({ cookie: 'aiplugs_session_5000=forged', ...key, origin: ORIGIN })).status, 401);
  });

  it('the token form signs in; a wrong token does not', async () => {
    const { request } = makeApp();
    const form = (token: string) => request('/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN }, body: `token=${encodeURIComponent(token)}` });
    assert.equal((await form('nope')).status, 401);
    const ok = await form(TOKEN);
    assert.equal(ok.status, 303);
    assert.ok(ok.headers.get('set-cookie'));
  });

  it('POST /api/shutdown needs the token and asks the gateway to stop', async () => {
    const { request, shutdowns } = makeApp();
    assert.equal((await request('/api/shutdown', { method: 'POST' })).status, 401);
    assert.equal((await request('/api/shutdown', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).status, 202);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(shutdowns(), 1);
  });
});
