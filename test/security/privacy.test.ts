/**
 * Security checklist 6 and 7 — no fingerprint in pages, no secrets anywhere they could leak.
 * Two installs inject the same bytes for the same plugins, apart from the seed's
 * AIPLUGS_API_PORT, the per-response CSP nonce and the per-document bridge capability (which
 * differs on every load, so it cannot identify an install either); the API token and the cloud key never appear
 * in pages, logs, events or error bodies.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, startGatewayProcess, type GatewayChild } from '../../e2e/support/gateway-process.js';
import { NAVIGATION_HEADERS, proxiedRequest, withoutInjection } from '../../e2e/support/proxy-client.js';
import { respond, startTestSite, type TestSite } from '../../e2e/support/test-site.js';

const CLOUD_KEY = 'sk-test-cloud-key-that-must-never-leak-0123456789';
const plugins = join(REPO_ROOT, 'e2e/fixtures/plugins');

let first: GatewayChild;
let second: GatewayChild;
let site: TestSite;

before(async () => {
  const env = { SYSTEM_API_KEY: CLOUD_KEY, CLOUD_BASE_URL: 'http://127.0.0.1:9/v1', AIPLUGS_LOG_LEVEL: 'debug' };
  first = await startGatewayProcess({ args: ['--plugins-dir', plugins], env });
  second = await startGatewayProcess({ args: ['--plugins-dir', plugins], env });
  site = await startTestSite({ '/': respond(200, { 'content-type': 'text/html', 'content-security-policy': "script-src 'self'" }, '<!doctype html><html><head><title>t</title></head><body>b</body></html>') });
});
after(async () => {
  await first?.stop();
  await second?.stop();
  await site?.close();
});

async function injectedBy(gateway: GatewayChild): Promise<string> {
  const response = await proxiedRequest(gateway.ready.proxyUrl, gateway.ready.caCertPath, `${site.origin}/`, { headers: NAVIGATION_HEADERS });
  const { injected } = withoutInjection(response.body);
  assert.notEqual(injected, '');
  return injected;
}

describe('no fingerprint in pages', () => {
  it('two installs inject the same runtime, apart from the API port, the nonce and the per-load capability', async () => {
    const capabilities = (markup: string) => new Set(markup.match(/\/__aiplugs\/cap\/[^/"&]+/g) ?? []);
    const normalize = (markup: string, port: number) =>
      markup
        .replace(new RegExp(`apiPort(&quot;|"):${port}`, 'g'), 'apiPort:PORT')
        .replace(/nonce="[^"]+"/g, 'nonce="N"')
        .replace(/\/__aiplugs\/cap\/[^/"&]+/g, '/__aiplugs/cap/CAP');
    const first1 = await injectedBy(first);
    const a = normalize(first1, first.ready.apiPort);
    const b = normalize(await injectedBy(second), second.ready.apiPort);
    assert.equal(a, b);
    // One capability per document, new on every load: nothing stable a site could track.
    const [one] = capabilities(first1);
    const [two] = capabilities(await injectedBy(first));
    assert.equal(capabilities(first1).size, 1);
    assert.ok(one && two && one !== two);
  });

  it('never carries the token, the CA or anything from the data dir', async () => {
    const markup = await injectedBy(first);
    const token = await first.token();
    for (const secret of [token, first.ready.caSpki, first.dataDir, CLOUD_KEY]) assert.ok(!markup.includes(secret), secret);
  });
});

describe('secrets', () => {
  it('never appear in logs, events or error bodies', async () => {
    const token = await first.token();
    const api = first.ready.apiUrl;
    // Provoke errors and log lines that involve the cloud settings and bad tokens.
    const bodies = [
      await (await fetch(`${api}/api/plugins/ping/infer`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ payload: 1, mode: 'cloud' }) })).text(),
      await (await fetch(`${api}/api/plugins`, { headers: { authorization: `Bearer ${token}x` } })).text(),
    ];
    for (const body of bodies) assert.ok(!body.includes(CLOUD_KEY) && !body.includes(token), body);
    const events = await fetch(`${api}/api/events`, { headers: { authorization: `Bearer ${token}` } });
    const reader = events.body!.getReader();
    let text = '';
    const deadline = Date.now() + 1500;
    while (Date.now() < deadline) {
      const chunk = await Promise.race([reader.read(), new Promise<null>((resolve) => setTimeout(() => resolve(null), 300))]);
      if (!chunk || chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    await reader.cancel();
    assert.ok(text.length > 0, 'the event stream replays recent history');
    const log = first.log();
    for (const secret of [token, CLOUD_KEY]) {
      assert.ok(!text.includes(secret), 'SSE events');
      assert.ok(!log.includes(secret), 'gateway log');
    }
  });
});
