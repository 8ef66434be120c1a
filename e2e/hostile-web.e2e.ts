/**
 * The hostile web, from inside the page: what a website's own JavaScript can try against the
 * gateway through the bridge, in real Chromium through the proxy. Each test is an attack; it
 * must fail for the page. (Process-level attacks — huge uploads, forged headers from another
 * local program — are in test/security/hostile-web.test.ts.)
 */
import { join } from 'node:path';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { launchThroughProxy } from './support/chromium.js';
import { REPO_ROOT, startGatewayProcess, type GatewayChild } from './support/gateway-process.js';
import { startPaidCloud, type PaidCloud } from './support/paid-cloud.js';
import { respond, startTestSite, type TestSite } from './support/test-site.js';
import { goto } from './support/navigate.js';

const PLUGINS = join(REPO_ROOT, 'e2e/fixtures/hostile-plugins');
const CLOUD_KEY = 'sk-hostile-web-test-key';

/**
 * What page JavaScript can learn about its bridge: the base URL of its plugins' files, which the
 * page's performance entries list (the runtime's own element is gone once it has run).
 */
const BRIDGE_BASE = `(async () => {
  for (let tries = 0; tries < 200; tries += 1) {
    const file = performance.getEntriesByType('resource').map((entry) => entry.name).find((name) => name.includes('/__aiplugs/cap/'));
    const path = file && /\\/__aiplugs\\/cap\\/[A-Za-z0-9_.-]+/.exec(new URL(file).pathname);
    if (path) return location.origin + path[0];
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return null;
})()`;

const page = (title: string, head = '', body = '') => `<!doctype html><html><head><title>${title}</title>${head}</head><body><h1>${title}</h1>${body}</body></html>`;
const html = (body: string, headers: Record<string, string> = {}) => respond(200, { 'content-type': 'text/html; charset=utf-8', ...headers }, body);

let site: TestSite;
let gateway: GatewayChild;
let browser: Browser;
let cloud: PaidCloud;

test.beforeAll(async () => {
  cloud = await startPaidCloud();
  site = await startTestSite({
    '/': html(page('home')),
    '/a/page': html(page('path a')),
    '/b/page': html(page('path b')),
    '/no-referrer': html(page('no referrer', '<meta name="referrer" content="no-referrer">'), { 'referrer-policy': 'no-referrer' }),
    // A nonce-only policy: the site allows nothing but its own nonce. Its page then tries to load
    // a bridge URL without that nonce (as an injected attacker's markup would).
    '/nonce-only': html(
      page(
        'nonce only',
        `<script nonce="sitenonce">window.__violations = []; document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.blockedURI));</script>`,
        `<script src="/__aiplugs/runtime/anything.js"></script><script nonce="sitenonce">document.documentElement.dataset.siteScript = 'ran';</script>`,
      ),
      { 'content-security-policy': "script-src 'nonce-sitenonce'; object-src 'none'" },
    ),
  });
  gateway = await startGatewayProcess({
    args: ['--plugins-dir', PLUGINS],
    env: { SYSTEM_API_KEY: CLOUD_KEY, CLOUD_BASE_URL: cloud.baseUrl, AIPLUGS_CLOUD_RETRIES: '0' },
  });
  browser = await launchThroughProxy(gateway.ready.proxyUrl, gateway.ready.caSpki);
});

test.afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  await site?.close();
  await cloud?.close();
});

async function open(path: string): Promise<Page> {
  const tab = await browser.newPage();
  await goto(tab, `${site.origin}${path}`);
  await expect(tab.locator('html')).toHaveAttribute('data-guarded', 'ran');
  return tab;
}

type Outcome = { ok: true; value: unknown } | { ok: false; code: string; message: string };

/** `AiPlugs.infer` from the page, reduced to what the page learns. */
function pageInfer(tab: Page, pluginId: string, payload: unknown, options: Record<string, unknown> = {}): Promise<Outcome> {
  return tab.evaluate(
    ([id, body, opts]) =>
      (window as unknown as { AiPlugs: { infer: (id: string, payload: unknown, options: unknown) => Promise<unknown> } }).AiPlugs.infer(id as string, body, opts).then(
        (value) => ({ ok: true as const, value }),
        (error: { code?: string; message?: string }) => ({ ok: false as const, code: String(error.code), message: String(error.message) }),
      ),
    [pluginId, payload, options] as const,
  );
}

test("a page cannot send a local-only plugin's call to the user's cloud server", async () => {
  const tab = await open('/');
  const before = cloud.calls();
  const outcome = await pageInfer(tab, 'guarded', { messages: [{ role: 'user', content: 'spend their credits' }] }, { mode: 'cloud' });
  expect(outcome.ok).toBe(false);
  expect(outcome.ok === false && outcome.code).toBe('mode_not_allowed');
  expect(cloud.calls() - before).toBe(0);
  // The plugin still answers the page the way the user set it up: locally.
  expect(await pageInfer(tab, 'guarded', { hello: 1 })).toEqual({ ok: true, value: { echo: { hello: 1 } } });
  await tab.close();
});

test("a page's cloud calls spend its plugin's budget, capped in answer length and in what they send, and the user sees the count", async () => {
  const tab = await open('/');
  const before = cloud.calls();
  const asked = cloud.maxTokens.length;
  // A 300 KB prompt (8 MiB went to the user's key before the input cap): refused, not sent, not a request.
  const outcomes = [await pageInfer(tab, 'metered', { text: 'x'.repeat(300_000) })];
  for (let call = 0; call < 3; call += 1) outcomes.push(await pageInfer(tab, 'metered', { text: 'hi', max_tokens: 100_000 }));
  expect(outcomes.map((outcome) => (outcome.ok ? 'ok' : outcome.code))).toEqual(['cloud_input_too_large', 'ok', 'ok', 'cloud_budget_exceeded']);
  expect(cloud.calls() - before).toBe(2);
  // The page asked for 100,000 tokens; the manifest's 64 is what the server was asked for.
  expect(cloud.maxTokens.slice(asked)).toEqual([64, 64]);
  const usage = await fetch(`${gateway.ready.apiUrl}/api/cloud/usage`, { headers: { authorization: `Bearer ${await gateway.token()}` } });
  expect(await usage.json()).toMatchObject({ plugins: [{ plugin: 'metered', requests: 2, rejected: 2, limits: { requestsPerMinute: 2, maxTokens: 64, maxInputBytes: 262_144 } }] });
  await tab.close();
});

test('a page can load only the files a plugin publishes: never dotfiles, backends, manifests or other files', async () => {
  const tab = await open('/');
  const statuses = await tab.evaluate(async (baseExpression) => {
    const base = (await eval(baseExpression)) as string;
    const get = async (file: string) => (await fetch(`${base}/api/plugins/guarded/files/${file}`)).status;
    return {
      content: await get('content.js'),
      asset: await get('assets/logo.svg'),
      env: await get('.env'),
      backend: await get('backend.js'),
      manifest: await get('manifest.json'),
      nested: await get('sub/config.json'),
      encodedDot: await get('%2eenv'),
    };
  }, BRIDGE_BASE);
  expect(statuses).toEqual({ content: 200, asset: 200, env: 404, backend: 404, manifest: 404, nested: 404, encodedDot: 404 });
  await tab.close();
});

test("fetch's referrer option does not reach a plugin scoped to another path of the site", async () => {
  const tab = await open('/a/page');
  const status = await tab.evaluate(async (baseExpression) => {
    const base = (await eval(baseExpression)) as string;
    const response = await fetch(`${base}/api/plugins/path-b/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payload: {} }),
      referrer: `${location.origin}/b/page`,
    });
    return response.status;
  }, BRIDGE_BASE);
  expect(status).toBe(403);
  await tab.close();
});

test("a site with a no-referrer policy still gets its plugins, and they can call their backends", async () => {
  const tab = await open('/no-referrer');
  expect(await pageInfer(tab, 'guarded', 'ok')).toEqual({ ok: true, value: { echo: 'ok' } });
  await tab.close();
});

test("nonce mode adds no path source: the site's own nonce-less script aimed at /__aiplugs/ stays blocked", async () => {
  const tab = await open('/nonce-only');
  await expect(tab.locator('html')).toHaveAttribute('data-site-script', 'ran');
  const violations = await tab.evaluate(() => (window as unknown as { __violations: string[] }).__violations);
  expect(violations.some((uri) => uri.includes('/__aiplugs/runtime/anything.js'))).toBe(true);
  await tab.close();
});

test('errors reach the page as a code and a generic message: no paths, stack traces, source URLs or hashes', async () => {
  const tab = await open('/');
  const failed = await pageInfer(tab, 'failing', {});
  const unprovisioned = await pageInfer(tab, 'unprovisioned', {});
  for (const outcome of [failed, unprovisioned]) {
    expect(outcome.ok).toBe(false);
    if (outcome.ok) continue;
    expect(outcome.message).not.toMatch(/\/(root|home|tmp|work|etc)\b|file:|\.js\b|\.secret|0{16}|at .+:\d+/);
    expect(outcome.message).not.toContain(REPO_ROOT);
  }
  expect(failed.ok === false && failed.code).toBe('backend_error');
  expect(unprovisioned.ok === false && unprovisioned.code).toBe('models_unavailable');
  // The detail is not lost: it is in the gateway's log for the user.
  expect(gateway.log()).toContain('.secret-config');
  await tab.close();
});

test('two AiPlugs.connect() of one plugin in one page both stay open, and a duplicated tab does not kick them', async () => {
  const tab = await open('/');
  const script = async () => {
    const api = (window as unknown as { AiPlugs: { connect: (id: string) => { on: (t: string, cb: (d: unknown) => void) => void; send: (m: unknown) => void } } }).AiPlugs;
    const closes: unknown[] = [];
    const results: unknown[] = [];
    const connections = [api.connect('guarded'), api.connect('guarded')];
    connections.forEach((connection, index) => {
      connection.on('close', (detail) => closes.push({ index, detail }));
      connection.on('message', (message) => {
        if ((message as { type?: string }).type === 'result') results.push({ index, result: (message as { result: unknown }).result });
      });
    });
    (window as unknown as { __sockets: unknown }).__sockets = { closes, results, connections };
    connections.forEach((connection, index) => connection.send({ type: 'infer', id: `call-${index}`, payload: index }));
  };
  await tab.evaluate(script);
  const state = () => tab.evaluate(() => (window as unknown as { __sockets: { closes: unknown[]; results: unknown[] } }).__sockets);
  await expect.poll(async () => (await state()).results.length, { timeout: 15_000 }).toBe(2);
  // A second tab of the same page (sessionStorage is copied into a duplicated tab).
  const twin = await open('/');
  await twin.evaluate(script);
  await expect.poll(async () => (await twin.evaluate(() => (window as unknown as { __sockets: { results: unknown[] } }).__sockets.results.length)), { timeout: 15_000 }).toBe(2);
  // Both of the first page's sockets are still open and answering.
  await tab.evaluate(() => {
    const sockets = (window as unknown as { __sockets: { connections: Array<{ send: (m: unknown) => void }> } }).__sockets;
    sockets.connections.forEach((connection, index) => connection.send({ type: 'infer', id: `again-${index}`, payload: index }));
  });
  await expect.poll(async () => (await state()).results.length, { timeout: 15_000 }).toBe(4);
  expect((await state()).closes).toEqual([]);
  await tab.close();
  await twin.close();
});
