/**
 * Security checklist 8 — faults stay local: a malformed request gets a 4xx, never a crash, a 500
 * or a stack trace (issue #12, point 10). Raw bytes, because no well-behaved client sends these.
 * Before the fix `GET http://[::1/` through the proxy killed the whole gateway (connect's
 * url.parse threw out of the request event).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGatewayProcess, type GatewayChild } from '../../e2e/support/gateway-process.js';
import { rawExchange } from '../support/proxy-exchange.js';

const statusOf = (answer: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);

let gateway: GatewayChild;
before(async () => {
  gateway = await startGatewayProcess();
});
after(async () => {
  await gateway?.stop();
});

// Absolute-form targets (what browsers send to an HTTP proxy) and Host headers no parser agrees on.
const proxyCases: Record<string, string> = {
  'an unterminated IPv6 literal': 'GET http://[::1/ HTTP/1.1\r\nHost: x\r\n\r\n',
  'a port out of range': 'GET http://example.com:99999/ HTTP/1.1\r\nHost: example.com:99999\r\n\r\n',
  'a non-numeric port in Host': 'GET / HTTP/1.1\r\nHost: example.com:abc\r\n\r\n',
  'a space in Host': 'GET / HTTP/1.1\r\nHost: exa mple.com\r\n\r\n',
  'an empty Host': 'GET / HTTP/1.1\r\nHost: \r\n\r\n',
  'a bridge URL on a malformed host': 'GET http://[::1/__aiplugs/runtime/x.js HTTP/1.1\r\nHost: x\r\n\r\n',
  'a bridge URL with a port out of range': 'POST http://example.com:70000/__aiplugs/api/plugins/echo/infer HTTP/1.1\r\nHost: example.com\r\nContent-Length: 2\r\n\r\n{}',
};

describe('the proxy, given a malformed request target or Host', () => {
  for (const [name, request] of Object.entries(proxyCases)) {
    it(`answers ${name} with a 4xx and no stack trace`, async () => {
      const answer = await rawExchange(gateway.ready.proxyPort, request);
      const status = statusOf(answer);
      assert.ok(status >= 400 && status < 500, `got ${JSON.stringify(answer.slice(0, 200))}`);
      assert.doesNotMatch(answer, /\n\s+at \S+ \(/, 'no stack trace in the answer');
    });
  }

  it('is still running and serving, and its log holds no stack trace', async () => {
    assert.equal(gateway.child.exitCode, null, `the gateway exited:\n${gateway.log()}`);
    assert.equal((await fetch(`${gateway.ready.apiUrl}/api/health`)).status, 200);
    assert.doesNotMatch(gateway.log(), /\n\s+at \S+ \(/);
  });
});

describe('the API, given a malformed Host', () => {
  for (const host of ['exa mple', '127.0.0.1:abc', '[::1', '127.0.0.1:99999', 'a@127.0.0.1', 'a:b', '127.0.0.1:5000.evil.com']) {
    it(`answers Host ${JSON.stringify(host)} with a 4xx, in the API's JSON error shape, and no stack trace`, async () => {
      const answer = await rawExchange(gateway.ready.apiPort, `GET /api/health HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      const status = statusOf(answer);
      assert.ok(status >= 400 && status < 500, `got ${JSON.stringify(answer.slice(0, 200))}`);
      assert.doesNotMatch(answer, /\n\s+at \S+ \(/);
      // Some came as an empty 400 from the HTTP adapter, before the API's own checks.
      assert.match(answer, /\r\n\r\n(?:[0-9a-f]+\r\n)?\{"error":\{"code":"[a-z_]+","message":"[^"]+"\}\}/, JSON.stringify(answer.slice(0, 300)));
    });
  }
});

describe('the API, given a method its route does not answer', () => {
  const call = async (method: string, path: string) =>
    fetch(`${gateway.ready.apiUrl}${path}`, { method, headers: { authorization: `Bearer ${await gateway.token()}` } });

  it('answers 405 with the methods it does answer in Allow, where it said 404 "no such route" (clients took a typo in the method for a wrong URL)', async () => {
    for (const [method, path, allow] of [
      ['POST', '/api/health', 'GET, HEAD'],
      ['DELETE', '/api/plugins', 'GET, HEAD'],
      ['GET', '/api/plugins/echo/infer', 'POST'],
      ['PUT', '/api/settings', 'GET, HEAD, PATCH'],
    ] as const) {
      const response = await call(method, path);
      assert.equal(response.status, 405, `${method} ${path}`);
      assert.equal(response.headers.get('allow'), allow, `${method} ${path}`);
      const body = (await response.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'method_not_allowed');
      assert.match(body.error.message, new RegExp(`${method} .*${allow}`));
    }
  });

  it('still answers 404 for a path no method answers', async () => {
    const response = await call('GET', '/api/no-such-thing');
    assert.equal(response.status, 404);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'not_found');
  });
});

describe('the WebSocket endpoint, asked without an upgrade', () => {
  it('answers 426 with Upgrade: websocket and a code, where it said 404 "no route" (a client that forgot the upgrade took the URL for wrong)', async () => {
    const response = await fetch(`${gateway.ready.apiUrl}/ws?plugin_id=echo&client_id=c1`, { headers: { authorization: `Bearer ${await gateway.token()}` } });
    assert.equal(response.status, 426);
    assert.equal(response.headers.get('upgrade'), 'websocket');
    const body = (await response.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'upgrade_required');
    assert.match(body.error.message, /GET \/ws .*WebSocket/);
  });
});
