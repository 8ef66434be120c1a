import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { expect, test } from '@playwright/test';
import { devtoolsPipe, type DevtoolsPipe } from '../../gateway/src/browser/devtools-pipe.js';
import { pairOverPipe } from '../../gateway/src/browser/pair-over-pipe.js';
import { requestPairingCode } from '../../gateway/src/browser/gateway-link.js';
import { chromiumPath, QUIET_CHROMIUM_ARGS } from '../support/chromium.js';
import { startGatewayProcess, type GatewayChild } from '../support/gateway-process.js';
import { respond, startTestSite, type TestSite } from '../support/test-site.js';
import { EXTENSION_DIR, EXTENSION_ID, FIXTURE_PLUGINS } from './support/extension-browser.js';

/**
 * Without the proxy, the extension runs a page's plugins. A page Chromium prerendered (a site's
 * speculation rules, the address bar's guess) reported its load from a frame that is not yet the
 * tab's, which the extension ignores, and once shown it never got its plugins. Now the load is
 * told when the page is shown. Playwright turns prerendering off in the browsers it drives, so
 * this test drives Chromium over its DevTools pipe, as `aiplugs browser` does, and pairs the
 * extension the same way.
 */

let gateway: GatewayChild;
let browser: ChildProcess;
let pipe: DevtoolsPipe;
let profileDir: string;
let site: TestSite;

const html = (head: string, body: string) => respond(200, { 'content-type': 'text/html; charset=utf-8' }, `<!doctype html><html><head><title>t</title>${head}</head><body>${body}</body></html>`);

test.beforeAll(async () => {
  site = await startTestSite({
    '/': html('<script type="speculationrules">{"prerender": [{"source": "list", "urls": ["/next"]}]}</script>', '<a id="go" href="/next">next</a>'),
    '/next': html('', '<p>next</p><img src="/seen.gif" alt="">'),
    // Asked for once the prerendered page is parsing: it is far enough along to be shown.
    '/seen.gif': respond(200, { 'content-type': 'image/gif', 'cache-control': 'no-store' }, Buffer.from('R0lGODlhAQABAAAAACw=', 'base64')),
  }, { https: false });
  gateway = await startGatewayProcess({ args: ['--plugins-dir', FIXTURE_PLUGINS] });
  profileDir = await mkdtemp(join(tmpdir(), 'aiplugs-ext-prerender-'));
  const args = [`--user-data-dir=${profileDir}`, '--headless', ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), `--load-extension=${EXTENSION_DIR}`, `--disable-extensions-except=${EXTENSION_DIR}`, '--remote-debugging-pipe', ...QUIET_CHROMIUM_ARGS, 'about:blank'];
  browser = spawn(chromiumPath() ?? 'chromium', args, { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
  pipe = devtoolsPipe(browser.stdio[3] as Writable, browser.stdio[4] as Readable);
  await pairOverPipe(pipe, EXTENSION_ID, gateway.ready.apiUrl, await requestPairingCode(gateway.ready.apiUrl, await gateway.token(), EXTENSION_ID));
});
test.afterAll(async () => {
  browser?.kill('SIGKILL');
  await gateway?.stop();
  await site?.close();
  await rm(profileDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

async function evaluateIn(url: string, expression: string): Promise<unknown> {
  const { targetInfos } = await pipe.call<{ targetInfos: Array<{ targetId: string; type: string; url: string; subtype?: string }> }>('Target.getTargets');
  const target = targetInfos.find((info) => info.type === 'page' && info.url === url && info.subtype !== 'prerender');
  if (!target) return undefined;
  const { sessionId } = await pipe.call<{ sessionId: string }>('Target.attachToTarget', { targetId: target.targetId, flatten: true });
  try {
    return (await pipe.call<{ result: { value?: unknown } }>('Runtime.evaluate', { expression, returnByValue: true }, 15_000, sessionId)).result.value;
  } finally {
    await pipe.call('Target.detachFromTarget', { sessionId });
  }
}

test('a page Chromium prerendered gets its plugins from the extension once shown', async () => {
  const prerenders = () => site.requests.filter((request) => request.path === '/next' && String(request.headers['sec-purpose']).includes('prerender')).length;
  const before = prerenders();
  const seen = () => site.requests.filter((request) => request.path === '/seen.gif').length;
  const seenBefore = seen();
  // Nothing attaches to the page until its prerender has begun: Chromium prerenders nothing for a
  // page a DevTools client is attached to (PrerenderingDisabledByDevTools).
  await pipe.call('Target.createTarget', { url: `${site.origin}/` });
  await expect.poll(prerenders, { message: 'Chromium prerendered /next' }).toBe(before + 1);
  // The prerendered page is loading (it reported itself then, and was ignored).
  await expect.poll(seen).toBe(seenBefore + 1);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await evaluateIn(`${site.origin}/`, "document.getElementById('go').click()");
  const read = "JSON.stringify({ activationStart: performance.getEntriesByType('navigation')[0].activationStart, runs: (window.__e2e || { runs: [] }).runs })";
  let shown: { activationStart: number; runs: Array<{ url: string; transport: string }> } | undefined;
  await expect
    .poll(async () => {
      const value = await evaluateIn(`${site.origin}/next`, read);
      shown = typeof value === 'string' ? (JSON.parse(value) as typeof shown) : undefined;
      return shown?.runs.length;
    }, { timeout: 20_000, message: 'the plugin ran in the page shown' })
    .toBe(1);
  expect(shown!.activationStart, 'the page shown is the prerendered one').toBeGreaterThan(0);
  expect(shown!.runs[0]).toMatchObject({ url: `${site.origin}/next`, transport: 'extension' });
  const { targetInfos } = await pipe.call<{ targetInfos: Array<{ targetId: string; type: string }> }>('Target.getTargets');
  for (const target of targetInfos.filter((info) => info.type === 'page')) await pipe.call('Target.closeTarget', { targetId: target.targetId });
});
