import { expect, test } from '@playwright/test';
import type { Browser } from '@playwright/test';
import { launchThroughProxy } from './support/chromium.js';
import { startGatewayProcess, type GatewayChild } from './support/gateway-process.js';
import { respond, startTestSite, type TestSite } from './support/test-site.js';
import { goto } from './support/navigate.js';

const JSON_BODY = '{"items":[1,2,3],"note":"caf\u00e9 \u2603"}';

let gateway: GatewayChild;
let site: TestSite;
let browser: Browser;

test.beforeAll(async () => {
  site = await startTestSite({
    '/': respond(
      200,
      { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "script-src 'self'", 'x-frame-options': 'DENY' },
      '<!doctype html><html><head><title>Spine test page</title><script src="/app.js"></script></head><body><h1>Hello</h1></body></html>',
    ),
    '/app.js': respond(
      200,
      { 'content-type': 'text/javascript' },
      "document.documentElement.dataset.pageScript = 'ran'; fetch('/data.json').then((r) => r.text()).then((t) => { window.__json = t; });",
    ),
    '/data.json': respond(200, { 'content-type': 'application/json' }, JSON_BODY),
  });
  gateway = await startGatewayProcess({ env: { AIPLUGS_PROXY_CSP_MODE: 'strip' } });
  browser = await launchThroughProxy(gateway.ready.proxyUrl, gateway.ready.caSpki);
});

test.afterAll(async () => {
  await browser?.close();
  expect(await gateway?.stop()).toBe(0);
  await site?.close();
});

test('a page under a strict CSP gets the echo plugin, which calls its backend through the bridge', async () => {
  const page = await browser.newPage();
  const response = await goto(page, `${site.origin}/`);
  expect(response?.headers()['content-security-policy']).toBeUndefined();
  expect(response?.headers()['x-frame-options']).toBeUndefined();
  expect(response?.headers()['cache-control']).toBe('no-store');

  await expect(page.locator('html')).toHaveAttribute('data-page-script', 'ran');
  await expect(page.locator('html')).toHaveAttribute('data-aiplugs-echo', /Spine test page/);
  const answer = JSON.parse((await page.locator('html').getAttribute('data-aiplugs-echo')) ?? '{}');
  expect(answer.echo).toEqual({ title: 'Spine test page' });

  expect(await page.evaluate(() => (window as unknown as { AIPLUGS_API_PORT: number }).AIPLUGS_API_PORT)).toBe(gateway.ready.apiPort);
  expect(await page.evaluate(() => (window as unknown as { AiPlugs: { plugins: string[] } }).AiPlugs.plugins)).toContain('echo');
  await expect.poll(() => page.evaluate(() => (window as unknown as { __json?: string }).__json)).toBe(JSON_BODY);
});

test('a fetch() of JSON passes through byte-identical, headers untouched', async () => {
  const page = await browser.newPage();
  await goto(page, `${site.origin}/`);
  const result = await page.evaluate(async () => {
    const response = await fetch('/data.json');
    return { body: await response.text(), type: response.headers.get('content-type') };
  });
  expect(result).toEqual({ body: JSON_BODY, type: 'application/json' });
});

test('AiPlugs.infer answers in the page with the plugin result', async () => {
  const page = await browser.newPage();
  await goto(page, `${site.origin}/`);
  const result = await page.evaluate(() => (window as unknown as { AiPlugs: { infer: (id: string, p: unknown) => Promise<unknown> } }).AiPlugs.infer('echo', { n: 42 }));
  expect(result).toMatchObject({ echo: { n: 42 } });
});
