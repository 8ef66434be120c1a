import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { startGatewayProcess, type GatewayChild } from './support/gateway-process.js';
import { evaluateIn, launchPipedChromium, PRERENDER_SITE, showPrerendered, type PipedChromium } from './support/prerender-pipe.js';
import { startTestSite, type TestSite } from './support/test-site.js';

/**
 * Chromium prerenders pages the user may open next (a site's speculation rules, the address
 * bar's guess), and the proxy injects those like any navigation. Plugin scripts run there as in
 * any page, but their calls to the gateway (inference, model status, sockets, Web AI) wait until
 * the page is shown: before, a page never opened ran its plugins' inference, on the cloud budget
 * too. Playwright turns prerendering off, so this test drives Chromium over its DevTools pipe.
 */

let gateway: GatewayChild;
let chromium: PipedChromium;
let site: TestSite;
let pluginsDir: string;

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
  site = await startTestSite(PRERENDER_SITE);
  gateway = await startGatewayProcess({ args: ['--plugins-dir', pluginsDir] });
  chromium = await launchPipedChromium([`--proxy-server=${gateway.ready.proxyUrl}`, '--proxy-bypass-list=<-loopback>', `--ignore-certificate-errors-spki-list=${gateway.ready.caSpki}`]);
});
test.afterAll(async () => {
  await chromium?.close();
  expect(await gateway?.stop()).toBe(0);
  await site?.close();
  await rm(pluginsDir, { recursive: true, force: true });
});

test("a prerendered page's plugins call the gateway only once the page is shown", async () => {
  const { pipe } = chromium;
  // Time for its plugin to run while prerendering (it called its backend in this time before the
  // fix; now nothing happens, so there is no event to wait for).
  await showPrerendered(pipe, site, 2000);
  const read = `JSON.stringify({ clock: document.documentElement.dataset.clock, shownAt: performance.timeOrigin + performance.getEntriesByType('navigation')[0].activationStart, activationStart: performance.getEntriesByType('navigation')[0].activationStart })`;
  let seen: { clock?: string; shownAt: number; activationStart: number } | undefined;
  await expect
    .poll(async () => {
      const value = await evaluateIn(pipe, `${site.origin}/next`, read);
      seen = typeof value === 'string' ? (JSON.parse(value) as typeof seen) : undefined;
      return seen?.clock;
    }, { timeout: 20_000 })
    .toMatch(/"at":\d+/);
  expect(seen!.activationStart, 'the page shown is the prerendered one').toBeGreaterThan(0);
  expect((JSON.parse(seen!.clock!) as { at: number }).at).toBeGreaterThanOrEqual(Math.floor(seen!.shownAt));
  // The site saw one load of /next: the prerendered one was shown, not loaded again.
  expect(site.requests.filter((request) => request.path === '/next')).toHaveLength(1);
});
