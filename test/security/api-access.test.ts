/**
 * Security checklist 2 and 3 — DNS rebinding and who may call what.
 * Foreign Host or Origin → 403; no or wrong token → 401; pages reach only the plugins injected
 * into them, whatever Referer or Origin they forge.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, startGatewayProcess, type GatewayChild } from '../../e2e/support/gateway-process.js';
import { NAVIGATION_HEADERS, proxiedRequest, withoutInjection } from '../../e2e/support/proxy-client.js';
import { respond, startTestSite, type TestSite } from '../../e2e/support/test-site.js';
import { injectedRuntime } from '../../gateway/src/proxy/testing/injected-runtime.js';

interface Reply {
  status: number;
  body: string;
}

/** A raw HTTP request, so Host and Origin can be set to anything an attacker could send. */
function raw(port: number, path: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

let gateway: GatewayChild;
let token: string;
let site: TestSite;
let host: string;

before(async () => {
  gateway = await startGatewayProcess({ args: ['--plugins-dir', join(REPO_ROOT, 'e2e/fixtures/plugins')] });
  token = await gateway.token();
  host = `127.0.0.1:${gateway.ready.apiPort}`;
  site = await startTestSite({ '/': respond(200, { 'content-type': 'text/html' }, '<html><head></head></html>') });
});
after(async () => {
  await gateway?.stop();
  await site?.close();
});

describe('DNS rebinding defence', () => {
  it('refuses a foreign Host, even with the right token', async () => {
    for (const foreign of [`evil.example:${gateway.ready.apiPort}`, 'evil.example', `127.0.0.1.evil.example:${gateway.ready.apiPort}`]) {
      const reply = await raw(gateway.ready.apiPort, '/api/plugins', { host: foreign, authorization: `Bearer ${token}` });
      assert.equal(reply.status, 403, foreign);
      assert.equal(JSON.parse(reply.body).error.code, 'forbidden_host');
    }
    assert.equal((await raw(gateway.ready.apiPort, '/api/health', { host: 'evil.example' })).status, 403);
  });

  it('accepts 127.0.0.1 and localhost on its own port', async () => {
    assert.equal((await raw(gateway.ready.apiPort, '/api/health', { host })).status, 200);
    assert.equal((await raw(gateway.ready.apiPort, '/api/health', { host: `localhost:${gateway.ready.apiPort}` })).status, 200);
  });

  it('refuses an Origin that is not the dashboard or the extension', async () => {
    for (const origin of ['https://evil.example', 'http://localhost:1', 'null']) {
      const reply = await raw(gateway.ready.apiPort, '/api/plugins', { host, origin, authorization: `Bearer ${token}` });
      assert.equal(reply.status, 403, origin);
      assert.equal(JSON.parse(reply.body).error.code, 'forbidden_origin');
    }
    const own = await raw(gateway.ready.apiPort, '/api/plugins', { host, origin: `http://${host}`, authorization: `Bearer ${token}` });
    assert.equal(own.status, 200);
    const extension = await raw(gateway.ready.apiPort, '/api/plugins', { host, origin: 'chrome-extension://abcdefghijklmnopabcdefghijklmnop', authorization: `Bearer ${token}` });
    assert.equal(extension.status, 200);
  });
});

describe('the API token', () => {
  it('is required for everything but health and the CA certificate', async () => {
    for (const [method, path] of [['GET', '/api/plugins'], ['GET', '/api/plugins/ping'], ['POST', '/api/plugins/ping/infer'], ['GET', '/api/settings'], ['PATCH', '/api/settings'], ['GET', '/api/events']] as const) {
      const body = method === 'GET' ? undefined : '{}';
      const none = await raw(gateway.ready.apiPort, path, { host, 'content-type': 'application/json' }, method, body);
      assert.equal(none.status, 401, `${method} ${path} without token`);
      const wrong = await raw(gateway.ready.apiPort, path, { host, authorization: `Bearer ${'x'.repeat(token.length)}`, 'content-type': 'application/json' }, method, body);
      assert.equal(wrong.status, 401, `${method} ${path} with a wrong token`);
      assert.equal(JSON.parse(wrong.body).error.code, 'unauthorized');
    }
    assert.equal((await raw(gateway.ready.apiPort, '/api/ca.pem', { host })).status, 200);
  });

  it('takes the token whatever the case of its scheme (RFC 9110), as a header or for a socket', async () => {
    assert.equal((await raw(gateway.ready.apiPort, '/api/plugins', { host, authorization: `bearer ${token}` })).status, 200);
    assert.equal((await raw(gateway.ready.apiPort, '/api/plugins', { host, authorization: `BEARER ${'x'.repeat(token.length)}` })).status, 401);
  });

  it('changes settings only with the token', async () => {
    const denied = await raw(gateway.ready.apiPort, '/api/settings', { host, 'content-type': 'application/json' }, 'PATCH', '{"paused":true}');
    assert.equal(denied.status, 401);
    const settings = await raw(gateway.ready.apiPort, '/api/settings', { host, authorization: `Bearer ${token}` });
    assert.equal(JSON.parse(settings.body).paused, false);
  });
});

describe('the page bridge', () => {
  /** What a page finds in its own document: the capability base its bridge calls go under. */
  const pageBridge = async (path = '/') => {
    const page = await proxiedRequest(gateway.ready.proxyUrl, gateway.ready.caCertPath, `${site.origin}${path}`, { headers: NAVIGATION_HEADERS });
    return injectedRuntime(page.body.toString()).config.bridge ?? assert.fail('the injected page carries its bridge base');
  };
  const call = (path: string, headers: Record<string, string> = {}, method = 'POST') =>
    proxiedRequest(gateway.ready.proxyUrl, gateway.ready.caCertPath, `${site.origin}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      ...(method === 'POST' ? { body: '{"payload":1}' } : {}),
    });

  it('answers a plugin injected into the page, and refuses one that is not', async () => {
    const base = await pageBridge();
    const ok = await call(`${base}/api/plugins/ping/infer`);
    assert.equal(ok.status, 200, ok.body.toString());
    const reply = await call(`${base}/api/plugins/elsewhere/infer`);
    assert.equal(reply.status, 403);
    assert.equal(JSON.parse(reply.body.toString()).error.code, 'plugin_not_injected');
  });

  it("lets a page read its own plugin's model status, and refuses another plugin's", async () => {
    const base = await pageBridge();
    const own = await call(`${base}/api/plugins/ping/models/status`, {}, 'GET');
    assert.equal(own.status, 200, own.body.toString());
    // ping declares no models: nothing to fetch, and nothing but the state and byte counts.
    assert.deepEqual(JSON.parse(own.body.toString()), { state: 'ready', receivedBytes: 0, totalBytes: 0 });
    const other = await call(`${base}/api/plugins/elsewhere/models/status`, {}, 'GET');
    assert.equal(other.status, 403);
    assert.equal(JSON.parse(other.body.toString()).error.code, 'plugin_not_injected');
  });

  it('ignores a forged Referer or Origin: without a capability there is no bridge', async () => {
    const forgeries: Array<Record<string, string>> = [{ referer: `${site.origin}/` }, { origin: site.origin }, { referer: 'https://elsewhere.invalid/', origin: 'https://elsewhere.invalid' }];
    for (const headers of forgeries) {
      for (const plugin of ['ping', 'elsewhere']) {
        const reply = await call(`/__aiplugs/api/plugins/${plugin}/infer`, headers);
        assert.equal(reply.status, 403, `${plugin} ${JSON.stringify(headers)}`);
      }
    }
  });

  it('a pause applies to pages that are already open', async () => {
    const base = await pageBridge();
    const patch = (paused: boolean) =>
      fetch(`${gateway.ready.apiUrl}/api/settings`, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ paused }) });
    assert.equal((await patch(true)).status, 200);
    try {
      assert.equal((await call(`${base}/api/plugins/ping/infer`)).status, 403);
    } finally {
      await patch(false);
    }
    assert.equal((await call(`${base}/api/plugins/ping/infer`)).status, 200);
  });

  it("never injects plugins into the gateway's own pages, even when a browser proxies them", async () => {
    for (const name of ['127.0.0.1', 'localhost']) {
      const page = await proxiedRequest(gateway.ready.proxyUrl, gateway.ready.caCertPath, `http://${name}:${gateway.ready.apiPort}/login`, { headers: NAVIGATION_HEADERS });
      assert.equal(page.status, 200);
      assert.match(page.headers['content-type'] ?? '', /text\/html/);
      assert.equal(withoutInjection(page.body).injected, '', name);
    }
  });

  it('never exposes user-only routes to pages, even with a valid capability', async () => {
    const base = await pageBridge();
    for (const path of ['/api/settings', '/api/plugins', '/api/events', '/api/models/pull', '/api/cloud/usage', '/api/inject?url=https://localhost/', '/api/workers']) {
      const reply = await call(`${base}${path}`, {}, 'GET');
      assert.equal(reply.status, 403, path);
    }
  });
});

describe('calls the extension makes for a page (x-aiplugs-page-origin)', () => {
  // The extension's fallback transport has no bridge: it calls with the token and names the page.
  const forPage = (path: string, pageOrigin: string, init: { method?: string; token?: string | null } = {}) =>
    raw(
      gateway.ready.apiPort,
      path,
      { host, 'content-type': 'application/json', 'x-aiplugs-page-origin': pageOrigin, ...(init.token === null ? {} : { authorization: `Bearer ${init.token ?? token}` }) },
      init.method ?? 'POST',
      init.method === 'GET' ? undefined : '{"payload":1}',
    );

  it("get the page's rules: its plugin calls only, and a pause applies", async () => {
    assert.equal((await forPage('/api/plugins/ping/infer', site.origin)).status, 200);
    for (const path of ['/api/settings', '/api/plugins', '/api/cloud/usage', '/api/workers']) {
      const reply = await forPage(path, site.origin, { method: 'GET' });
      assert.equal(reply.status, 403, path);
      assert.equal(JSON.parse(reply.body).error.code, 'forbidden', path);
    }
    const patch = (paused: boolean) =>
      fetch(`${gateway.ready.apiUrl}/api/settings`, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ paused }) });
    assert.equal((await patch(true)).status, 200);
    try {
      const paused = await forPage('/api/plugins/ping/infer', site.origin);
      assert.equal(JSON.parse(paused.body).error.code, 'plugin_not_injected');
    } finally {
      await patch(false);
    }
  });

  it('name an http(s) origin and nothing else, and still need the token', async () => {
    for (const value of ['null', `${site.origin}/path`, 'javascript:alert(1)', 'file:///etc', `https://${'a'.repeat(3000)}.test`, '']) {
      const reply = await forPage('/api/plugins/ping/infer', value);
      assert.equal(reply.status, 400, value.slice(0, 40));
      assert.equal(JSON.parse(reply.body).error.code, 'invalid_page_origin');
    }
    assert.equal((await forPage('/api/plugins/ping/infer', site.origin, { token: null })).status, 401);
    assert.equal((await forPage('/api/plugins/ping/infer', site.origin, { token: 'wrong' })).status, 401);
  });
});
