import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { expect, test } from '@playwright/test';
import { chromiumArgs } from '../gateway/src/browser/browser-args.js';
import { devtoolsPipe, type DevtoolsPipe } from '../gateway/src/browser/devtools-pipe.js';
import { chromiumPath, QUIET_CHROMIUM_ARGS } from './support/chromium.js';
import { startGatewayProcess, type GatewayChild } from './support/gateway-process.js';
import { respond, startTestSite, type TestSite } from './support/test-site.js';

/**
 * Chromium prerenders pages the user may open next (a site's speculation rules, the address
 * bar's guess), and the proxy injects those like any navigation. Plugin scripts run there as in
 * any page, but their calls to the gateway (inference, model status, sockets, Web AI) wait until
 * the page is shown: before, a page never opened ran its plugins' inference, on the cloud budget
 * too. Playwright turns prerendering off in the browsers it drives ("PrerenderingDisabledByDevTools"),
 * so this test drives Chromium over its DevTools pipe itself, as `aiplugs browser` does.
 */

let gateway: GatewayChild;
let browser: ChildProcess;
let pipe: DevtoolsPipe;
let profileDir: string;
let site: TestSite;
let pluginsDir: string;

const html = (head: string, body: string) => respond(200, { 'content-type': 'text/html; charset=utf-8' }, `<!doctype html><html><head><title>t</title>${head}</head><body>${body}</body></html>`);

test.beforeAll(async () => {
  // A plugin whose backend answers with the time it was called.
  pluginsDir = await mkdtemp(join(tmpdir(), 'aiplugs-prerender-plugins-'));
  await mkdir(join(pluginsDir, 'clock'));
  await writeFile(
    join(pluginsDir, 'clock/manifest.json'),
    JSON.stringify({ manifest_version: 3, id: 'clock', name: 'Clock', version: '1.0.0', content_scripts: [{ matches: ['*://localhost/*'], js: ['content.js'] }], inference: { default_mode: 'local', local_entry: 'backend.js' } }),
  );
  await writeFile(join(pluginsDir, 'clock/backend.js'), 'export function run() { return { at: Date.now() }; }\n');
  await writeFile(join(pluginsDir, 'clock/content.js'), "window.AiPlugs.infer('clock', {}).then((answer) => { document.documentElement.dataset.clock = JSON.stringify(answer); });\n");
  site = await startTestSite({
    '/': html('<script type="speculationrules">{"prerender": [{"source": "list", "urls": ["/next"]}]}</script>', '<a id="go" href="/next">next</a>'),
    '/next': html('', '<p>next</p><img src="/seen.gif" alt="">'),
    // Asked for once the prerendered page is parsing: it is far enough along to be shown.
    '/seen.gif': respond(200, { 'content-type': 'image/gif', 'cache-control': 'no-store' }, Buffer.from('R0lGODlhAQABAAAAACw=', 'base64')),
  });
  gateway = await startGatewayProcess({ args: ['--plugins-dir', pluginsDir] });
  profileDir = await mkdtemp(join(tmpdir(), 'aiplugs-prerender-profile-'));
  const args = chromiumArgs({ profileDir, proxyUrl: gateway.ready.proxyUrl, caSpki: gateway.ready.caSpki, headless: true, noSandbox: process.getuid?.() === 0, url: 'about:blank' });
  args.splice(args.length - 1, 0, '--remote-debugging-pipe', ...QUIET_CHROMIUM_ARGS);
  browser = spawn(chromiumPath() ?? 'chromium', args, { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
  pipe = devtoolsPipe(browser.stdio[3] as Writable, browser.stdio[4] as Readable);
});
test.afterAll(async () => {
  browser?.kill('SIGKILL');
  expect(await gateway?.stop()).toBe(0);
  await site?.close();
  await rm(pluginsDir, { recursive: true, force: true });
  await rm(profileDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

/** Evaluates `expression` in the page target now showing `url`, and returns its value. */
async function evaluateIn(url: string, expression: string): Promise<unknown> {
  const { targetInfos } = await pipe.call<{ targetInfos: Array<{ targetId: string; type: string; url: string }> }>('Target.getTargets');
  const target = targetInfos.find((info) => info.type === 'page' && info.url === url);
  if (!target) return undefined;
  const { sessionId } = await pipe.call<{ sessionId: string }>('Target.attachToTarget', { targetId: target.targetId, flatten: true });
  try {
    const answer = await pipe.call<{ result: { value?: unknown } }>('Runtime.evaluate', { expression, returnByValue: true }, 15_000, sessionId);
    return answer.result.value;
  } finally {
    await pipe.call('Target.detachFromTarget', { sessionId });
  }
}

test("a prerendered page's plugins call the gateway only once the page is shown", async () => {
  await pipe.call('Target.createTarget', { url: `${site.origin}/` });
  await expect.poll(() => site.requests.filter((request) => request.path === '/next' && String(request.headers['sec-purpose']).includes('prerender')).length, { message: 'Chromium prerendered /next' }).toBe(1);
  await expect.poll(() => site.requests.filter((request) => request.path === '/seen.gif').length, { message: 'the prerendered page is loading' }).toBe(1);
  // Time for its plugin to run (it called its backend in this time before the fix; now nothing
  // happens, so there is no event to wait for).
  await new Promise((resolve) => setTimeout(resolve, 2000));
  expect(await evaluateIn(`${site.origin}/`, "document.getElementById('go').click(), 'clicked'")).toBe('clicked');
  const read = `JSON.stringify({ clock: document.documentElement.dataset.clock, shownAt: performance.timeOrigin + performance.getEntriesByType('navigation')[0].activationStart, activationStart: performance.getEntriesByType('navigation')[0].activationStart })`;
  let seen: { clock?: string; shownAt: number; activationStart: number } | undefined;
  await expect
    .poll(async () => {
      const value = await evaluateIn(`${site.origin}/next`, read);
      seen = typeof value === 'string' ? (JSON.parse(value) as typeof seen) : undefined;
      return seen?.clock;
    }, { timeout: 20_000 })
    .toMatch(/"at":\d+/);
  expect(seen!.activationStart, 'the page shown is the prerendered one').toBeGreaterThan(0);
  expect((JSON.parse(seen!.clock!) as { at: number }).at).toBeGreaterThanOrEqual(Math.floor(seen!.shownAt));
  // The site saw one load of /next: the prerendered one was shown, not loaded again.
  expect(site.requests.filter((request) => request.path === '/next')).toHaveLength(1);
});
