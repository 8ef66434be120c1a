/**
 * Security checklist 3 — a hostile page against a plugin's backend. A page whose input crashes the
 * backend (an image its decoder dies on) must not stop the plugin for every other site and for the
 * user: only its own site's calls are refused, for the crash window (workers/site-crashes.ts).
 * Found by helper-79: three calls from one site stopped image-reader everywhere until a reset.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { REPO_ROOT, startGatewayProcess, type GatewayChild } from '../../e2e/support/gateway-process.js';
import { respond, startTestSite, type TestSite } from '../../e2e/support/test-site.js';
import { viaProxy } from '../support/proxy-exchange.js';

let gateway: GatewayChild;
let site: TestSite;

before(async () => {
  site = await startTestSite({ '/': respond(200, { 'content-type': 'text/html' }, '<!doctype html><html><head><title>t</title></head><body>hi</body></html>') }, { https: false });
  gateway = await startGatewayProcess({ args: ['--plugins-dir', join(REPO_ROOT, 'test/security/fixtures/page-crash-plugins')] });
});
after(async () => {
  await gateway?.stop();
  await site?.close();
});

/** Two sites of the same server: `localhost` and `127.0.0.1`. */
const origins = () => ({ evil: `http://localhost:${site.port}`, good: `http://127.0.0.1:${site.port}` });

/** What page JavaScript on `origin` finds in its document: the bridge base in the runtime's config. */
async function bridgeBase(origin: string): Promise<string> {
  const page = await viaProxy({ port: gateway.ready.proxyPort }, `${origin}/`, { headers: { accept: 'text/html', 'sec-fetch-dest': 'document', 'sec-fetch-mode': 'navigate' } });
  const base = /(\/__aiplugs\/cap\/[A-Za-z0-9_.-]+)/.exec(page.body.toString())?.[1];
  assert.ok(base, `no bridge base on ${origin}`);
  return base;
}

/** `AiPlugs.infer('crashable', payload)` from a page of `origin`, as its fetch reaches the proxy. */
function pageInfer(origin: string, base: string, payload: unknown): Promise<{ status: number; body: { result?: unknown; error?: { code: string } } }> {
  const body = JSON.stringify({ payload });
  return new Promise((resolve, reject) => {
    const call = request(
      {
        host: '127.0.0.1',
        port: gateway.ready.proxyPort,
        method: 'POST',
        path: `${origin}${base}/api/plugins/crashable/infer`,
        headers: { host: new URL(origin).host, origin, referer: `${origin}/`, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as { result?: unknown; error?: { code: string } } }));
      },
    );
    call.on('error', reject);
    call.end(body);
  });
}

it("a page that crashes a plugin's backend again and again stops it for its own site only", async () => {
  const { evil, good } = origins();
  const [evilBase, goodBase] = [await bridgeBase(evil), await bridgeBase(good)];
  assert.deepEqual((await pageInfer(good, goodBase, { n: 1 })).body, { result: { echo: { n: 1 } } });
  for (let crash = 0; crash < 3; crash += 1) assert.equal((await pageInfer(evil, evilBase, { crash: true })).body.error?.code, 'worker_crashed');
  // Before: worker_failed for every site, and for the user, until the plugin was reset.
  assert.deepEqual((await pageInfer(good, goodBase, { n: 2 })).body, { result: { echo: { n: 2 } } });
  const user = await fetch(`${gateway.ready.apiUrl}/api/plugins/crashable/infer`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await gateway.token()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ payload: { n: 3 } }),
  });
  assert.deepEqual(await user.json(), { result: { echo: { n: 3 } } });
  const refused = await pageInfer(evil, evilBase, { n: 4 });
  assert.equal(refused.status, 503);
  assert.equal(refused.body.error?.code, 'worker_failed');
});
