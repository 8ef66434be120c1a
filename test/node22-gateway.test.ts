/**
 * The compiled gateway on Node 22 as well as on Node 20, which runs every other test: `engines`
 * allows any Node from 20.19, and Node 22 changed HTTP response corking (nodejs/node#60432), which
 * the proxy's streaming leans on. One injected navigation through the proxy and one call to a
 * plugin's Node backend (whose worker runs on the gateway's Node). `AIPLUGS_TEST_NODE22` names the
 * binary (`.ci/run` installs it from the npm registry's `node@22`); outside CI, without it, this skips.
 */
import assert from 'node:assert/strict';
import { existsSync, realpathSync } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { REPO_ROOT, startGatewayProcess, type GatewayChild } from '../e2e/support/gateway-process.js';
import { NAVIGATION_HEADERS, proxiedRequest } from '../e2e/support/proxy-client.js';
import { respond, startTestSite, type TestSite } from '../e2e/support/test-site.js';
import { skipOutsideCi } from './support/required-tools.js';

const NODE22 = process.env.AIPLUGS_TEST_NODE22 ?? '';
const skip = NODE22 && existsSync(NODE22) ? false : skipOutsideCi('no Node 22 binary (set AIPLUGS_TEST_NODE22; `npm install --prefix <dir> node@22` gives one)', 'node@22');

const PAGE = `<!doctype html><html><head><title>t</title></head><body>${'<p>text</p>'.repeat(2000)}</body></html>`;

let gateway: GatewayChild | undefined;
let site: TestSite | undefined;

before(async () => {
  if (skip) return;
  site = await startTestSite({ '/page': respond(200, { 'content-type': 'text/html; charset=utf-8' }, PAGE) }, { https: false });
  gateway = await startGatewayProcess({ node: NODE22, args: ['--plugins-dir', join(REPO_ROOT, 'e2e/fixtures/plugins')] });
});
after(async () => {
  await gateway?.stop();
  await site?.close();
});

it('runs on Node 22: injects a navigation whole and answers a Node backend call', { skip }, async () => {
  assert.equal(await readlink(`/proc/${gateway!.pid}/exe`), realpathSync(NODE22), 'the gateway runs on the Node 22 binary');
  const url = `${site!.origin}/page`;
  const page = await proxiedRequest(gateway!.ready.proxyUrl, gateway!.ready.caCertPath, url, { headers: NAVIGATION_HEADERS });
  assert.equal(page.status, 200);
  const body = page.body.toString('utf8');
  assert.match(body, /data-aiplugs="runtime"/);
  assert.ok(body.endsWith(`${'<p>text</p>'.repeat(2000)}</body></html>`), 'the document arrives whole after the markup');
  const token = await gateway!.token();
  const answer = await fetch(`${gateway!.ready.apiUrl}/api/plugins/ping/infer`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ payload: { from: 'node22' } }) });
  assert.equal(answer.status, 200, await answer.clone().text());
  assert.deepEqual(((await answer.json()) as { result: unknown }).result, { pong: { from: 'node22' } });
});
