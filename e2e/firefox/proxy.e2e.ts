import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import type { Page } from 'puppeteer-core';
import { runCli } from '../cli/run-cli.js';
import { expectOneNavigationPerChange, launchFirefox, openRecordingViolations, violations, type FirefoxSession } from '../support/firefox.js';
import { REPO_ROOT, startGatewayProcess, type GatewayChild } from '../support/gateway-process.js';
import type { TestSite } from '../support/test-site.js';
import { startProxyTestSite } from '../sites/proxy-test-site.js';
import { PLUGIN_FREE_HEADER } from '../../gateway/src/proxy/plugin-free-load.js';
import { skipUnlessInstalled, TOOLS } from '../../test/support/required-tools.js';

// Real Firefox (firefox-esr over WebDriver BiDi) through the real gateway: what a Firefox user
// without the extension gets. Each launch costs seconds on a busy 2-core machine.
test.describe.configure({ mode: 'serial', timeout: 180_000 });

type Window = typeof globalThis & { __order?: string[]; AiPlugs?: { plugins: string[] } };

let gateway: GatewayChild;
let httpsSite: TestSite;
let httpSite: TestSite;
let home: string;

test.beforeAll(async () => {
  const missing = await skipUnlessInstalled(TOOLS.firefox, TOOLS.certutil);
  test.skip(missing !== false, `${missing}`);
  httpsSite = await startProxyTestSite();
  httpSite = await startProxyTestSite({ https: false });
  gateway = await startGatewayProcess({ args: ['--plugins-dir', join(REPO_ROOT, 'e2e/fixtures/plugins')] });
  home = await mkdtemp(join(tmpdir(), 'aiplugs-home-'));
});

test.afterAll(async () => {
  if (gateway) expect(await gateway.stop()).toBe(0);
  await httpsSite?.close();
  await httpSite?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

const html = (page: Page, name: string) => page.evaluate((attribute) => document.documentElement.getAttribute(attribute), name);

/** The fixture plugins ran in run_at order under the site's strict CSP, and ping's backend answered through the bridge. */
async function expectPluginsRan(page: Page, path: string): Promise<void> {
  await expect.poll(() => html(page, 'data-ping'), { timeout: 30_000 }).toBe(JSON.stringify({ pong: { from: path } }));
  expect(await html(page, 'data-marker-idle')).toBe('ran');
  expect(await html(page, 'data-page-script')).toBe('ran');
  expect(await page.evaluate(() => (window as Window).AiPlugs?.plugins)).toEqual(['marker', 'ping']);
  const order = (await page.evaluate(() => (window as Window).__order)) ?? [];
  expect(order[0]).toBe('start:loading:nobody');
  expect(order.indexOf('start:loading:nobody')).toBeLessThan(order.indexOf('page:loading'));
  expect(order.at(-1)).toMatch(/^idle:(interactive|complete)$/);
  expect(await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--aiplugs-marker').trim())).toBe('injected');
  expect(await violations(page)).toEqual([]);
}

test('http://localhost through the proxy: the runtime and the plugins run in Firefox under a strict CSP, and SPA navigations fire once', async () => {
  const firefox = await launchFirefox({ proxyUrl: gateway.ready.proxyUrl });
  try {
    const page = await openRecordingViolations(firefox.browser, `${httpSite.origin}/csp-header`);
    await expectPluginsRan(page, '/csp-header');

    const spa = await openRecordingViolations(firefox.browser, `${httpSite.origin}/spa`);
    await expect.poll(() => html(spa, 'data-ping'), { timeout: 30_000 }).not.toBeNull();
    await expectOneNavigationPerChange(spa);
  } finally {
    await firefox.close();
  }
});

test('a load the extension marks plugin-free ("Reload without plugins") reaches Firefox as the site sent it: no runtime, no plugin file', async () => {
  const firefox = await launchFirefox({ proxyUrl: gateway.ready.proxyUrl });
  try {
    const page = await firefox.browser.newPage();
    // The mark the extension's rule puts on the tab's navigations for that one load.
    await page.setRequestInterception(true);
    page.on('request', (request) => void request.continue({ headers: { ...request.headers(), [PLUGIN_FREE_HEADER]: '1' } }));
    await page.goto(`${httpSite.origin}/csp-header`);
    await expect.poll(() => html(page, 'data-page-script'), { timeout: 30_000 }).toBe('ran');
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 500)));
    expect(await page.evaluate(() => [(window as Window).__order ?? [], 'AiPlugs' in window, document.querySelectorAll('[data-aiplugs], [data-aiplugs-plugin]').length])).toEqual([['page:loading'], false, 0]);
  } finally {
    await firefox.close();
  }
});

test('a plugin-free load the proxy injected all the same (the mark missed it) runs no plugin file in Firefox, inline or not', async () => {
  const firefox = await launchFirefox({ proxyUrl: gateway.ready.proxyUrl });
  try {
    const page = await firefox.browser.newPage();
    // What the extension's document_start hook leaves for such a load, before the document parses.
    await page.evaluateOnNewDocument(() => {
      (window as Window & { __aiplugsNavigationHook?: object }).__aiplugsNavigationHook = { owner: 'extension', lastUrl: location.href, suppressed: true };
    });
    await page.goto(`${httpSite.origin}/csp-header`);
    await expect.poll(() => html(page, 'data-page-script'), { timeout: 30_000 }).toBe('ran');
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 500)));
    // Firefox prepares a deferred (document_end) script before the parser's microtask checkpoint,
    // so taking it out of the document was not enough there; moved to another document, it never runs (proxy-elements.ts).
    expect(await page.evaluate(() => (window as Window).__order)).toEqual(['page:loading']);
    expect(await page.evaluate(() => ['AiPlugs' in window, document.querySelectorAll('[data-aiplugs-plugin]').length])).toEqual([false, 0]);
  } finally {
    await firefox.close();
  }
});

test('a plugin stopped (or stopped and started) while its document loads runs none of the files the proxy wrote for it after that in Firefox, and its new run\'s once', async () => {
  const firefox = await launchFirefox({ proxyUrl: gateway.ready.proxyUrl });
  try {
    for (const [path, runs] of [['/stop-in-head', 0], ['/stop-in-body', 0], ['/restart-in-head', 1]] as const) {
      const page = await firefox.browser.newPage();
      await page.goto(`${httpSite.origin}${path}`);
      // ping's document_idle file comes after marker's, in order: once it has run, marker's would have.
      await expect.poll(() => html(page, 'data-ping'), { timeout: 30_000 }).toBe(JSON.stringify({ pong: { from: path } }));
      const order = (await page.evaluate(() => (window as Window).__order)) ?? [];
      expect(order.filter((stage) => !stage.startsWith('start')), path).toEqual(runs ? ['end:interactive'] : []);
      expect(await page.evaluate(() => (window as Window).AiPlugs?.plugins), path).toEqual(runs ? ['marker', 'ping'] : ['ping']);
      await page.close();
    }
  } finally {
    await firefox.close();
  }
});

test('https through the proxy: Firefox refuses the gateway until `aiplugs ca install` trusts it in the profile, then the plugins run', async () => {
  // A Firefox profile where `ca install` looks for one (~/.mozilla/firefox/<profile>), created by Firefox itself.
  const profileDir = join(home, '.mozilla/firefox/aiplugs-test.default');
  await mkdir(profileDir, { recursive: true });
  const visit = async (check: (firefox: FirefoxSession) => Promise<void>) => {
    const firefox = await launchFirefox({ proxyUrl: gateway.ready.proxyUrl, profileDir });
    try {
      await check(firefox);
    } finally {
      await firefox.close();
    }
  };

  await visit(async (firefox) => {
    const page = await firefox.browser.newPage();
    const refused = await page.goto(`${httpsSite.origin}/csp-header`).then(
      () => null,
      (error: Error) => error.message,
    );
    expect(refused).toContain('SEC_ERROR_UNKNOWN_ISSUER');
  });

  const install = await runCli(['ca', 'install', '--yes', '--data-dir', gateway.dataDir], { HOME: home });
  expect(install.stdout).toContain(`added to nss: ${profileDir}`);
  expect(install.code).toBe(0);

  await visit(async (firefox) => {
    const page = await openRecordingViolations(firefox.browser, `${httpsSite.origin}/csp-header`);
    expect(await page.evaluate(() => location.protocol)).toBe('https:');
    await expectPluginsRan(page, '/csp-header');
  });
});
