import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect, test, type Browser } from '@playwright/test';
import { launchThroughProxy } from './support/chromium.js';
import { startGatewayProcess, type GatewayChild } from './support/gateway-process.js';
import type { TestSite } from './support/test-site.js';
import { HTML_FRAGMENT, startProxyTestSite } from './sites/proxy-test-site.js';
import { goto } from './support/navigate.js';

/**
 * A plain-HTTP site under a name that is not loopback is no secure context, so Chromium sends it
 * no fetch metadata (`Sec-Fetch-*`): the proxy must tell its navigations from its fetches and
 * XHRs without it, and inject into the first only, whatever `Accept` the page's script sends.
 */

/** Resolves *.aiplugs-e2e.test to 127.0.0.1 in the gateway only (see the file). */
const RESOLVER = pathToFileURL(fileURLToPath(new URL('./extension/support/resolve-test-hosts.mjs', import.meta.url))).href;

let site: TestSite;
let gateway: GatewayChild;
let browser: Browser;
let origin: string;

test.beforeAll(async () => {
  const plugins = await mkdtemp(join(tmpdir(), 'aiplugs-insecure-'));
  await mkdir(join(plugins, 'everywhere'));
  await writeFile(join(plugins, 'everywhere', 'content.js'), "document.documentElement.dataset.everywhere = 'ran';");
  await writeFile(
    join(plugins, 'everywhere', 'manifest.json'),
    JSON.stringify({ manifest_version: 3, id: 'everywhere', name: 'Everywhere', version: '1.0.0', content_scripts: [{ matches: ['<all_urls>'], js: ['content.js'], run_at: 'document_start' }] }),
  );
  site = await startProxyTestSite({ https: false });
  origin = `http://site.aiplugs-e2e.test:${site.port}`;
  gateway = await startGatewayProcess({ args: ['--plugins-dir', plugins], env: { NODE_OPTIONS: `--import=${RESOLVER}` } });
  browser = await launchThroughProxy(gateway.ready.proxyUrl, gateway.ready.caSpki);
});

test.afterAll(async () => {
  await browser?.close();
  expect(await gateway?.stop()).toBe(0);
  await site?.close();
});

test('on a plain-HTTP site, the navigation gets its plugins and fetch and XHR asking for HTML get the bytes the site sent', async () => {
  const page = await browser.newPage();
  await goto(page, `${origin}/`);
  await expect(page.locator('html')).toHaveAttribute('data-everywhere', 'ran');
  const seen = site.requests.length;
  const result = await page.evaluate(async () => {
    const accept = { accept: 'text/html, application/xhtml+xml' };
    const fetched = await (await fetch('/fragment.html', { headers: accept })).text();
    const plainFetch = await (await fetch('/fragment.html')).text();
    const xhr = await new Promise<string>((resolve) => {
      const request = new XMLHttpRequest();
      request.open('GET', '/fragment.html');
      request.setRequestHeader('accept', 'text/html');
      request.onload = () => resolve(request.responseText);
      request.send();
    });
    return { fetched, plainFetch, xhr };
  });
  expect(result).toEqual({ fetched: HTML_FRAGMENT, plainFetch: HTML_FRAGMENT, xhr: HTML_FRAGMENT });
  // What this test is about: the browser sent these without fetch metadata.
  const fetches = site.requests.slice(seen).filter(({ path }) => path === '/fragment.html');
  expect(fetches).toHaveLength(3);
  for (const { headers } of fetches) expect(headers['sec-fetch-dest']).toBeUndefined();
  await page.close();
});
