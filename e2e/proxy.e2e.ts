import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, expect, test, type Browser, type Page } from '@playwright/test';
import iconv from 'iconv-lite';
import { WebSocketServer } from 'ws';
import { createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { generateCACertificate } from 'mockttp';
import { chromiumPath, launchThroughProxy, QUIET_CHROMIUM_ARGS } from './support/chromium.js';
import { REPO_ROOT, startGatewayProcess, type GatewayChild } from './support/gateway-process.js';
import { NAVIGATION_HEADERS, proxiedRequest, withoutInjection } from './support/proxy-client.js';
import { startTestSite, type TestSite } from './support/test-site.js';
import { ENCODED_PAGES, HTML_FRAGMENT, JSON_BODY, LARGE_BYTES, LATE_META_CHARSET_TEXT, NO_TYPE_TEXT, SAVED_HTML, TEXT_TYPE_LAST_BODY, bodyMetaCharsetPage, encodedPage, lateMetaCharsetPage, startProxyTestSite } from './sites/proxy-test-site.js';
import { goto } from './support/navigate.js';
import type { HydrationRecord } from './sites/react-ssr-page.js';
import { PLUGIN_FREE_HEADER } from '../gateway/src/proxy/plugin-free-load.js';

const FIXTURE_PLUGINS = join(REPO_ROOT, 'e2e/fixtures/plugins');

type Window = typeof globalThis & { __order?: string[]; __navs?: Array<{ from: string; to: string; kind: string }>; AiPlugs?: { plugins: string[] } };

let site: TestSite;
let plainSite: TestSite;
const gateways: Partial<Record<'nonce' | 'strip', GatewayChild>> = {};
const browsers: Partial<Record<'nonce' | 'strip', Browser>> = {};

test.beforeAll(async () => {
  site = await startProxyTestSite();
  // The site's own WebSocket (an echo) must pass through the proxy untouched.
  new WebSocketServer({ server: site.server, path: '/socket' }).on('connection', (socket) => socket.on('message', (data) => socket.send(`echo:${data.toString()}`)));
  plainSite = await startProxyTestSite({ https: false });
  for (const mode of ['nonce', 'strip'] as const) {
    const gateway = await startGatewayProcess({ args: ['--plugins-dir', FIXTURE_PLUGINS], env: { AIPLUGS_PROXY_CSP_MODE: mode } });
    gateways[mode] = gateway;
    browsers[mode] = await launchThroughProxy(gateway.ready.proxyUrl, gateway.ready.caSpki);
  }
});

test.afterAll(async () => {
  for (const mode of ['nonce', 'strip'] as const) {
    await browsers[mode]?.close();
    expect(await gateways[mode]?.stop()).toBe(0);
  }
  await site?.close();
  await plainSite?.close();
});

async function open(mode: 'nonce' | 'strip', path: string, origin = site.origin): Promise<Page> {
  const page = await browsers[mode]!.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  consoleErrors.set(page, errors);
  // Before any page script (DevTools injection, which no policy governs): every violation, ours or the site's.
  await page.addInitScript(() => {
    const violations: string[] = [];
    (window as Window & { __violations?: string[] }).__violations = violations;
    document.addEventListener('securitypolicyviolation', (event) => violations.push(`${event.effectiveDirective} blocked ${event.blockedURI} (${event.sourceFile}:${event.lineNumber})`));
  });
  await goto(page, `${origin}${path}`);
  return page;
}

const consoleErrors = new WeakMap<Page, string[]>();

/** Nothing on the page was refused by its policy: not the site's scripts, not a plugin's, not the runtime's calls. */
async function expectNoPolicyViolations(page: Page) {
  await page.waitForLoadState('load');
  expect(await page.evaluate(() => (window as Window & { __violations?: string[] }).__violations)).toEqual([]);
  expect((consoleErrors.get(page) ?? []).filter((text) => /Content.Security.Policy|Refused to|Trusted Type/i.test(text))).toEqual([]);
}

const order = (page: Page) => page.evaluate(() => (window as Window).__order ?? []);
const injected = (page: Page) => page.evaluate(() => (window as Window).AiPlugs?.plugins ?? null);

async function expectPluginsRan(page: Page) {
  await expect(page.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
  await expectNoPolicyViolations(page);
  expect(await injected(page)).toEqual(['marker', 'ping']);
  const stages = await order(page);
  expect(stages[0]).toMatch(/^start:loading:nobody$/);
  expect(stages.indexOf('end:interactive')).toBeGreaterThan(0);
  expect(stages.at(-1)).toMatch(/^idle:(interactive|complete)$/);
  expect(await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--aiplugs-marker').trim())).toBe('injected');
}

for (const mode of ['nonce', 'strip'] as const) {
  test.describe(`csp mode ${mode}`, () => {
    test('strict CSP header: plugins and the page both run, in run_at order', async () => {
      const page = await open(mode, '/csp-header');
      await expectPluginsRan(page);
      await expect(page.locator('html')).toHaveAttribute('data-page-script', 'ran');
      const stages = await order(page);
      expect(stages.indexOf('start:loading:nobody')).toBeLessThan(stages.indexOf('page:loading'));
    });

    test('CSP in a meta tag', async () => {
      const page = await open(mode, '/csp-meta');
      await expectPluginsRan(page);
      await expect(page.locator('html')).toHaveAttribute('data-page-script', 'ran');
    });

    test("default-src 'none' only", async () => {
      const page = await open(mode, '/csp-default-only');
      await expectPluginsRan(page);
    });

    test("an 'unsafe-inline' policy that names a CDN and not the site", async () => {
      const page = await open(mode, '/csp-unsafe-inline-cdn');
      await expectPluginsRan(page);
      await expect(page.locator('html')).toHaveAttribute('data-page-script', 'ran');
    });

    test("'strict-dynamic' nonce policy", async () => {
      const page = await open(mode, '/strict-dynamic');
      await expectPluginsRan(page);
      await expect(page.locator('html')).toHaveAttribute('data-page-script', 'ran');
    });

    test('Trusted Types page keeps working with plugins', async () => {
      const page = await open(mode, '/trusted-types');
      await expectPluginsRan(page);
      await expect(page.locator('#tt')).toHaveText('tt ok');
    });
  });
}

test.describe('injection rules (nonce mode)', () => {
  test('a load the extension marks plugin-free ("Reload without plugins") reaches the page, and its frames, as the site sent them: no runtime, no plugin file, the site\'s policy', async () => {
    const page = await browsers.nonce!.newPage();
    // The mark the extension's rule puts on the tab's navigations for that one load.
    await page.setExtraHTTPHeaders({ [PLUGIN_FREE_HEADER]: '1' });
    const response = await goto(page, `${site.origin}/csp-header`);
    await page.waitForLoadState('load');
    await expect(page.locator('html')).toHaveAttribute('data-page-script', 'ran');
    expect(response?.headers()['content-security-policy']).toBe("default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'");
    expect(response?.headers()['x-frame-options']).toBe('DENY');
    await goto(page, `${site.origin}/frame-parent`);
    await page.waitForLoadState('load');
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 500)));
    for (const frame of page.frames()) {
      expect(await frame.evaluate(() => [(window as Window).__order ?? [], 'AiPlugs' in window, document.querySelectorAll('[data-aiplugs], [data-aiplugs-plugin]').length]), frame.url()).toEqual([['page:loading'], false, 0]);
    }
    expect(page.frames()).toHaveLength(2);
    await page.close();
  });

  test('a plugin-free load the proxy injected all the same (the mark missed it: a service worker fetched the document) runs no plugin file, inline or not, and keeps none of their elements', async () => {
    const page = await browsers.nonce!.newPage();
    // What the extension's document_start hook leaves for such a load, before the document parses.
    await page.addInitScript(() => {
      (window as Window & { __aiplugsNavigationHook?: object }).__aiplugsNavigationHook = { owner: 'extension', lastUrl: location.href, suppressed: true };
    });
    await goto(page, `${site.origin}/csp-header`);
    await page.waitForLoadState('load');
    await expect(page.locator('html')).toHaveAttribute('data-page-script', 'ran');
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 500)));
    expect(await order(page)).toEqual(['page:loading']);
    expect(await page.evaluate(() => ['AiPlugs' in window, document.querySelectorAll('[data-aiplugs-plugin]').length, getComputedStyle(document.documentElement).getPropertyValue('--aiplugs-marker').trim()])).toEqual([false, 0, '']);
    await page.close();
  });

  test('a document_start script comes inline, with no request of its own; one inline text cannot carry still runs, by URL, in order', async () => {
    const page = await browsers.nonce!.newPage();
    const files: string[] = [];
    page.on('request', (request) => {
      const file = /\/api\/plugins\/marker\/files\/(.+)$/.exec(new URL(request.url()).pathname)?.[1];
      if (file) files.push(file);
    });
    await goto(page, `${site.origin}/csp-header`);
    await expect(page.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
    expect(files.sort()).toEqual(['end.js', 'idle.js', 'marker.css', 'start-by-url.js']);
    const stages = await order(page);
    expect(stages.slice(0, 2)).toEqual(['start:loading:nobody', 'start-by-url:loading:9']);
    expect(stages.indexOf('page:loading')).toBeGreaterThan(1);
    // The inline copy runs under the file's own name, for the plugin author's stack traces.
    const served = (await proxiedRequest(gateways.nonce!.ready.proxyUrl, gateways.nonce!.ready.caCertPath, `${site.origin}/csp-header`, { headers: NAVIGATION_HEADERS })).body.toString();
    const inline = [...served.matchAll(/<script[^>]* data-aiplugs-plugin="marker">([\s\S]*?)<\/script>/g)].map((match) => /sourceURL=(.*)/.exec(match[1] ?? '')?.[1]);
    expect(inline).toEqual(['aiplugs://marker/start.js']);
    await page.close();
  });

  test("the page's own deferred script (where a framework hydrates) finds its head nodes first and only then AiPlugs' (React's hydrateRoot(document) threw its server render away over one of ours ahead of its own)", async () => {
    const page = await open('nonce', '/hydrating');
    await expect(page.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
    // The plugin's style sheet and its document_end script (run after the page's) come last; the runtime and the document_start scripts are gone.
    expect(await page.evaluate(() => (window as Window & { __head?: string[] }).__head)).toEqual(['TITLE', 'SCRIPT', 'LINK marker', 'SCRIPT marker']);
    expect(await page.evaluate(() => document.querySelectorAll('script[data-aiplugs], script[data-aiplugs-plugin]').length)).toBe(0);
  });

  for (const path of ['/react-ssr', '/react-ssr-streamed']) {
    test(`a React 18 page that hydrates its whole document keeps its server render and the plugin's style sheet, ${path === '/react-ssr' ? 'sent whole' : 'its head sent in two parts'} (a style sheet first in its head made React render it all again, without the sheet)`, async () => {
      const page = await open('nonce', path);
      await expect.poll(() => page.evaluate(() => (window as Window & { __hydration?: HydrationRecord }).__hydration?.done ?? false)).toBe(true);
      await expect(page.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
      expect(await page.evaluate(() => (window as Window & { __hydration?: HydrationRecord }).__hydration?.errors)).toEqual([]);
      // The node the server rendered is the one on the page, not one React made again.
      expect(await page.evaluate(() => (document.getElementById('server-rendered') as (HTMLElement & { __fromServer?: boolean }) | null)?.__fromServer ?? false)).toBe(true);
      expect(await page.evaluate(() => [...document.head.children].map((element) => element.tagName))).toEqual(['META', 'TITLE', 'SCRIPT', 'SCRIPT', 'SCRIPT', 'LINK']);
      expect(await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--aiplugs-marker').trim())).toBe('injected');
      await page.close();
    });
  }

  test("a React 18 page hydrated by an async script while its document is still being parsed keeps its server render: the plugin's document_end script, not run yet, waits after the page's own head nodes", async () => {
    const page = await open('nonce', '/react-ssr-async');
    await expect.poll(() => page.evaluate(() => (window as Window & { __hydration?: HydrationRecord }).__hydration?.done ?? false)).toBe(true);
    // Hydration ran before the parser was done, so before any deferred script.
    expect(await page.evaluate(() => (window as Window & { __hydration?: HydrationRecord }).__hydration?.readyState)).toBe('loading');
    expect(await page.evaluate(() => (window as Window & { __hydration?: HydrationRecord }).__hydration?.errors)).toEqual([]);
    expect(await page.evaluate(() => (document.getElementById('server-rendered') as (HTMLElement & { __fromServer?: boolean }) | null)?.__fromServer ?? false)).toBe(true);
    await expect(page.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
    expect(await page.evaluate(() => (window as Window).__order)).toContain('end:interactive');
    expect(await page.evaluate(() => [...document.head.children].map((element) => element.tagName))).toEqual(['META', 'TITLE', 'SCRIPT', 'LINK']);
    expect(await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--aiplugs-marker').trim())).toBe('injected');
    await page.close();
  });

  test("a page whose <base href> names another origin still gets the plugin's style sheet and document_end script, which come after it", async () => {
    const page = await open('nonce', '/base-elsewhere');
    await expect(page.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
    expect(await page.evaluate(() => (window as Window).__order)).toContain('end:interactive');
    expect(await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--aiplugs-marker').trim())).toBe('injected');
    await page.close();
  });

  for (const [path, when, runs] of [
    ['/stop-in-head', 'stopped while its head is parsed', 0],
    ['/stop-in-body', 'stopped once the parser has passed its head, before its deferred scripts run', 0],
    ['/restart-in-head', 'stopped and started again while its head is parsed', 1],
  ] as const) {
    test(`a plugin ${when} runs none of the files the proxy wrote for it after that, and only the ones its new run loads (${path})`, async () => {
      const page = await open('nonce', path);
      // ping's document_idle file comes after marker's, in order: once it has run, marker's would have.
      await expect(page.locator('html')).toHaveAttribute('data-ping', /pong/);
      const stages = await order(page);
      expect(stages.filter((stage) => stage.startsWith('end:'))).toEqual(runs ? ['end:interactive'] : []);
      expect(stages.filter((stage) => stage.startsWith('idle:'))).toEqual([]);
      expect(await injected(page)).toEqual(runs ? ['marker', 'ping'] : ['ping']);
      expect(await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--aiplugs-marker').trim())).toBe('');
      await page.close();
    });
  }

  test('the policy the page gets still blocks what the site blocked', async () => {
    const response = await proxiedRequest(gateways.nonce!.ready.proxyUrl, gateways.nonce!.ready.caCertPath, `${site.origin}/csp-header`, { headers: NAVIGATION_HEADERS });
    const policy = response.headers['content-security-policy'] ?? '';
    expect(policy).toMatch(/script-src 'self' 'nonce-[^']+';/);
    expect(policy).not.toMatch(/script-src[^;]*__aiplugs/);
    expect(policy).not.toMatch(/unsafe-inline|\*/);
    expect(response.headers['x-frame-options']).toBe('DENY');
    const nonce = /'nonce-([^']+)'/.exec(policy)?.[1];
    const again = await proxiedRequest(gateways.nonce!.ready.proxyUrl, gateways.nonce!.ready.caCertPath, `${site.origin}/csp-header`, { headers: NAVIGATION_HEADERS });
    expect(/'nonce-([^']+)'/.exec(again.headers['content-security-policy'] ?? '')?.[1]).not.toBe(nonce);

    // In the browser too: an inline script without the nonce is refused, and the violation
    // recorder sees it (so the empty lists the CSP tests expect are worth something).
    const page = await open('nonce', '/csp-header');
    await expectPluginsRan(page);
    await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'document.documentElement.dataset.injectedByPage = "ran"';
      document.head.append(script);
    });
    await expect.poll(() => page.evaluate(() => (window as Window & { __violations?: string[] }).__violations)).toEqual([expect.stringMatching(/^script-src-elem blocked inline/)]);
    expect(await page.evaluate(() => document.documentElement.dataset.injectedByPage)).toBeUndefined();
  });

  test('an iframe document gets the plugins that ask for frames (all_frames), its document_start file inline, and no others', async () => {
    const page = await open('nonce', '/frame-parent');
    const frame = page.frameLocator('#child');
    await expect(frame.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
    // Inline: the frame asked for no start.js of its own (its element is gone once it ran).
    const child0 = page.frames().find((candidate) => candidate !== page.mainFrame());
    expect(await child0?.evaluate(() => performance.getEntriesByType('resource').some((entry) => entry.name.endsWith('/files/start.js')))).toBe(false);
    // Ping is for top-level pages only, as a WebExtension's content scripts are by default.
    expect(await injected(page)).toEqual(['marker', 'ping']);
    const child = page.frames().find((candidate) => candidate !== page.mainFrame());
    expect(await child?.evaluate(() => (window as Window).AiPlugs?.plugins ?? null)).toEqual(['marker']);
  });

  test('an HTML document in an <object> or <embed> is a frame: it gets the plugins that ask for frames, and no others', async () => {
    const page = await open('nonce', '/object-parent');
    await expect.poll(() => page.frames().length).toBe(3);
    const children = page.frames().filter((candidate) => candidate !== page.mainFrame());
    for (const child of children) {
      await expect.poll(() => child.evaluate(() => document.documentElement.dataset.markerIdle ?? null)).toBe('ran');
      expect(await child.evaluate(() => (window as Window).AiPlugs?.plugins ?? null)).toEqual(['marker']);
    }
    expect(await injected(page)).toEqual(['marker', 'ping']);
  });

  test('a page whose policy sandboxes it (an opaque origin, which the bridge refuses) runs its own scripts and no plugin, with no failed loads', async () => {
    const page = await browsers.nonce!.newPage();
    const bridged: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/__aiplugs/')) bridged.push(`${request.frame() === page.mainFrame() ? 'page' : 'frame'}:${new URL(request.url()).pathname.split('/').slice(-1)[0] ?? ''}`);
    });
    await goto(page, `${site.origin}/sandboxed`);
    await expect(page.locator('html')).toHaveAttribute('data-page-script', 'ran');
    await page.waitForLoadState('load');
    expect(await page.evaluate(() => [self.origin, 'AiPlugs' in window, (window as Window).__order ?? [], document.querySelectorAll('[data-aiplugs-plugin]').length])).toEqual(['null', false, ['page:loading'], 0]);
    // Before, the runtime asked the bridge for each plugin file, and each failed (ERR_BLOCKED_BY_ORB).
    expect(bridged).toEqual([]);
    // A frame sandboxed by its parent's attribute looks like any frame to the proxy: its runtime
    // stands down, so no plugin runs there and nothing more is asked of the bridge.
    bridged.length = 0;
    await goto(page, `${site.origin}/sandboxed-frame-parent`);
    await page.waitForLoadState('load');
    const child = page.frames().find((candidate) => candidate !== page.mainFrame());
    expect(await child?.evaluate(() => [self.origin, 'AiPlugs' in window, (window as Window).__order ?? []])).toEqual(['null', false, ['page:loading']]);
    expect(await injected(page)).toEqual(['marker', 'ping']);
    // (The frame's static tags were fetched as it parsed, before the runtime ran: its document_idle file never is.)
    expect(bridged.filter((file) => file.endsWith('idle.js'))).toEqual(['page:idle.js']);
    await page.close();
  });

  test('fetch, XHR and JSON come back byte-identical and uninjected', async () => {
    const page = await open('nonce', '/');
    const result = await page.evaluate(async () => {
      const json = await (await fetch('/data.json')).text();
      const fragment = await (await fetch('/fragment.html')).text();
      const xhr = await new Promise<string>((resolve) => {
        const request = new XMLHttpRequest();
        request.open('GET', '/fragment.html');
        request.onload = () => resolve(request.responseText);
        request.send();
      });
      const image = new Uint8Array(await (await fetch('/image.png')).arrayBuffer()).length;
      return { json, fragment, xhr, image };
    });
    expect(result).toEqual({ json: JSON_BODY, fragment: HTML_FRAGMENT, xhr: HTML_FRAGMENT, image: 16 });
  });

  test('document_idle plugins still run on a page whose load event never comes (an image that never ends)', async () => {
    const page = await browsers.nonce!.newPage();
    await goto(page, `${site.origin}/endless-image`, { waitUntil: 'domcontentloaded' });
    await expect(page.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
    const stages = await order(page);
    expect(stages.at(-1)).toBe('idle:interactive');
    expect(stages.indexOf('end:interactive')).toBeGreaterThan(0);
    await page.close();
  });

  test('an SPA pushState page gets exactly one aiplugs:navigate per change, of the kind the change was; its own History.prototype patch still runs', async () => {
    const page = await open('nonce', '/spa');
    await expect(page.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
    const patch = await page.evaluate(() => {
      // As routers and analytics do, after the runtime: it was never called (the runtime's own
      // pushState sat on the history object, in front of the prototype).
      const original = History.prototype.pushState;
      let calls = 0;
      History.prototype.pushState = function (this: History, ...args: Parameters<History['pushState']>) {
        calls += 1;
        return original.apply(this, args);
      };
      history.pushState({}, '', '/spa/one');
      history.pushState({}, '', '/spa/one');
      history.replaceState({}, '', '/spa/two');
      location.hash = '#three';
      const link = document.body.appendChild(Object.assign(document.createElement('a'), { href: '#four', textContent: 'four' }));
      link.click();
      return { calls, name: original.name, length: original.length };
    });
    expect(patch).toEqual({ calls: 2, name: 'pushState', length: 2 });
    await page.goBack();
    // One event per real change (the repeated pushState to the same URL is not one).
    await expect
      .poll(() => page.evaluate(() => (window as Window).__navs?.map((nav) => `${nav.kind}: ${new URL(nav.from).pathname}${new URL(nav.from).hash} -> ${new URL(nav.to).pathname}${new URL(nav.to).hash}`)))
      .toEqual([
        'pushState: /spa -> /spa/one',
        'replaceState: /spa/one -> /spa/two',
        'hashchange: /spa/two -> /spa/two#three',
        'hashchange: /spa/two#three -> /spa/two#four',
        'popstate: /spa/two#four -> /spa/two#three',
      ]);
  });

  test('gzip, br and deflate pages are injected and re-encoded correctly', async () => {
    for (const encoding of ['gzip', 'br', 'deflate']) {
      const page = await open('nonce', `/${encoding}`);
      await expect(page.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
      await expect(page.locator('h1')).toHaveText('compressed');
      await page.close();
    }
  });

  for (const charset of Object.keys(ENCODED_PAGES) as Array<keyof typeof ENCODED_PAGES>) {
    test(`a ${charset} page keeps every byte apart from the insertion`, async () => {
      const { proxyUrl, caCertPath } = gateways.nonce!.ready;
      const response = await proxiedRequest(proxyUrl, caCertPath, `${site.origin}/${charset}`, { headers: NAVIGATION_HEADERS });
      const { rest, injected: markup } = withoutInjection(response.body);
      expect(markup).not.toBe('');
      expect(/^[\x00-\x7f]*$/.test(markup)).toBe(true);
      expect(rest.equals(encodedPage(charset))).toBe(true);
      const page = await open('nonce', `/${charset}`);
      await expect(page.locator('#text')).toHaveText(ENCODED_PAGES[charset]);
      expect(iconv.decode(rest, charset)).toContain(ENCODED_PAGES[charset]);
    });
  }

  for (const [path, where, original] of [
    ['/late-meta-charset', 'near byte 800', lateMetaCharsetPage()],
    ['/body-meta-charset', 'after a tag that starts the body', bodyMetaCharsetPage()],
  ] as const) {
    test(`a <meta charset> ${where} stays in the first 1,024 bytes: the text renders as it does direct`, async () => {
      const { proxyUrl, caCertPath } = gateways.nonce!.ready;
      const response = await proxiedRequest(proxyUrl, caCertPath, `${site.origin}${path}`, { headers: NAVIGATION_HEADERS });
      // The site's bytes, but for a copy of the declaration where the markup had to go before it.
      expect(withoutInjection(response.body).rest.toString('utf8').replace('<meta charset="utf-8"/>', '')).toBe(original.toString('utf8'));
      const direct = await chromium.launch({ executablePath: chromiumPath(), args: QUIET_CHROMIUM_ARGS });
      try {
        const directPage = await (await direct.newContext({ ignoreHTTPSErrors: true })).newPage();
        await goto(directPage, `${site.origin}${path}`);
        await expect(directPage.locator('#text')).toHaveText(LATE_META_CHARSET_TEXT);
      } finally {
        await direct.close();
      }
      const page = await open('nonce', path);
      await expect(page.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
      await expect(page.locator('#text')).toHaveText(LATE_META_CHARSET_TEXT);
    });
  }

  test('a head its site sends early, naming no charset, reaches the browser before the rest: its stylesheet is asked for while the site waits', async () => {
    let styleAsked: () => void = () => {};
    const asked = new Promise<void>((resolve) => (styleAsked = resolve));
    let styleBeforeRest = false;
    const early = await startTestSite({
      '/early': (_request, response) => {
        response.writeHead(200, { 'content-type': 'text/html' });
        response.write('<!doctype html><html><head><title>early</title><link rel="stylesheet" href="/early.css">');
        // The rest once the browser has asked for the stylesheet, or after 10 s: it was held back until then before.
        const sendRest = () => {
          if (!response.writableEnded) response.end('</head><body><p id="late">late</p></body></html>');
        };
        const rest = setTimeout(sendRest, 10_000);
        void asked.then(() => {
          styleBeforeRest = !response.writableEnded;
          clearTimeout(rest);
          sendRest();
        });
      },
      '/early.css': (_request, response) => {
        styleAsked();
        response.writeHead(200, { 'content-type': 'text/css' }).end('#late { color: rgb(1, 2, 3); }');
      },
    });
    const page = await browsers.nonce!.newPage();
    try {
      await goto(page, `${early.origin}/early`);
      expect(styleBeforeRest).toBe(true);
      await expect(page.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
      await expect(page.locator('#late')).toHaveCSS('color', 'rgb(1, 2, 3)');
    } finally {
      await page.close();
      await early.close();
    }
  });

  test('a page with no <head> gets the runtime before its first script', async () => {
    const page = await open('nonce', '/no-head');
    await expect(page.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
    const stages = await order(page);
    expect(stages.indexOf('start:loading:nobody')).toBeLessThan(stages.indexOf('page:loading'));
  });

  test('an XHTML page stays well-formed XML with the runtime, a stylesheet and every run_at injected', async () => {
    // One element XML does not accept (a <link> left open, a bare `defer`) and the browser shows a parse error instead of the page.
    const page = await open('nonce', '/xhtml');
    await expect(page.locator('#text')).toHaveText('an XHTML page & its plugins');
    await expect(page.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
    expect(await order(page)).toEqual(expect.arrayContaining([expect.stringMatching(/^start:/), expect.stringMatching(/^end:/)]));
  });

  test('a document and a script whose site sends a header twice (nosniff, ETag, Content-Language) load as they do direct, over HTTP/2 to the browser too', async () => {
    const page = await open('nonce', '/repeated-headers');
    await expect(page.locator('html')).toHaveAttribute('data-repeated-headers', 'ran');
    await expect(page.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
  });

  test('with two Content-Type headers the proxy reads the type the browser renders: the last', async () => {
    // HTML last: a page with plugins. HTML first: Chromium shows text, so markup put into it would show as text.
    const html = await open('nonce', '/html-type-last');
    await expect(html.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
    const text = await open('nonce', '/text-type-last');
    expect(await text.evaluate(() => document.contentType)).toBe('text/plain');
    expect(await text.locator('body').innerText()).toBe(TEXT_TYPE_LAST_BODY);
  });

  test('an HTML file saved through <a download> is the file the site sent: no runtime, no capability', async () => {
    // Chromium fetches a download in navigate mode with no destination, as a service worker's navigation looks.
    const page = await open('nonce', '/download-link');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
    expect(await readFile((await download.path())!, 'utf8')).toBe(SAVED_HTML);
  });

  test('a page its site sends with no Content-Type is what Chromium takes it for: HTML gets plugins (a late <meta charset> still read), text stays text', async () => {
    const page = await open('nonce', '/no-type');
    expect(await page.evaluate(() => document.contentType)).toBe('text/html');
    await expectPluginsRan(page);
    // The copy of its <meta charset> goes in front of the markup: a body starting so would be shown as text.
    const late = await open('nonce', '/no-type-late-charset');
    await expect(late.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
    await expect(late.locator('#text')).toHaveText(LATE_META_CHARSET_TEXT);
    expect(await late.evaluate(() => [document.contentType, document.characterSet, document.querySelector('b')?.parentElement === document.body])).toEqual(['text/html', 'UTF-8', true]);
    for (const [path, body] of [['/no-type-text', NO_TYPE_TEXT], ['/no-type-nosniff', null]] as const) {
      const text = await open('nonce', path);
      expect(await text.evaluate(() => [document.contentType, 'AiPlugs' in window])).toEqual(['text/plain', false]);
      if (body) expect(await text.locator('body').innerText()).toBe(body);
      else expect(await text.locator('body').innerText()).toMatch(/^<!doctype html><html><head><title>no type nosniff<\/title><script src="\/app.js"><\/script><\/head>/);
    }
  });

  test('a document its site breaks off mid-body shows as far as it got, as direct, over HTTP/2 and plain HTTP', async () => {
    // The browser stops parsing a document whose load fails: told at once, it had not yet parsed
    // past the runtime, and the page stayed blank.
    for (const origin of [site.origin, plainSite.origin]) {
      const page = await browsers.nonce!.newPage();
      await page.goto(`${origin}/broken-off`, { waitUntil: 'commit' });
      await expect(page.locator('#last')).toHaveText('as far as it got');
      expect(await injected(page)).toEqual(['marker', 'ping']);
      await page.close();
      // Passed through untouched (no plugin for that path), too.
      const passed = await browsers.nonce!.newPage();
      await passed.goto(`${origin}/excluded/broken-off`, { waitUntil: 'commit' });
      await expect(passed.locator('#last')).toHaveText('as far as it got');
      expect(await injected(passed)).toBeNull();
      await passed.close();
    }
  });

  test("a page that declares its own top-level AiPlugs runs as it does direct, and its plugins still run", async () => {
    // The runtime's AiPlugs was a non-configurable global: the page's `let AiPlugs` threw a
    // SyntaxError ("already been declared"), and none of that script ran.
    const page = await open('nonce', '/own-aiplugs');
    await expect(page.locator('html')).toHaveAttribute('data-own', "the page's own");
    await expect(page.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
    expect(await page.evaluate(() => (window as Window).AiPlugs?.plugins)).toEqual(['marker', 'ping']);
    await page.close();
  });

  test('a site that sets 130 cookies of 500 bytes (an 80 KB response head) loads with all of them, and so do its next pages, as direct', async () => {
    // Over HTTP/2 from the proxy, a head past 64 KiB reset the page (FRAME_SIZE_ERROR) and closed
    // the browser's connection: no page, no cookie.
    const cookies = Array.from({ length: 130 }, (_, index) => `c${index}=${'v'.repeat(500)}; Path=/`);
    const cookieSite = await startTestSite(
      {
        '/': (_request, response) => void response.writeHead(200, { 'content-type': 'text/html', 'set-cookie': cookies }).end('<!doctype html><title>cookies</title><h1>set</h1>'),
        '/next': (request, response) => void response.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>next</title><h1>${String(request.headers.cookie ?? '').split('; ').length}</h1>`),
      },
      { maxHeaderSize: 256 * 1024 },
    );
    const context = await browsers.nonce!.newContext();
    try {
      const page = await context.newPage();
      expect((await page.goto(`${cookieSite.origin}/`))?.status()).toBe(200);
      await expect(page.locator('h1')).toHaveText('set');
      expect(await context.cookies()).toHaveLength(130);
      await page.goto(`${cookieSite.origin}/next`);
      await expect(page.locator('h1')).toHaveText('130');
      expect(await injected(page)).toEqual(['marker', 'ping']);
    } finally {
      await context.close();
      await cookieSite.close();
    }
  });

  test('a redirect whose site names two different targets is refused with a page that says so, as the browser refuses it direct', async () => {
    // Over HTTP/2 to the browser the two were joined into one target: "/, /gzip", where it went.
    const page = await browsers.nonce!.newPage();
    const response = await page.goto(`${site.origin}/two-locations`);
    expect(response?.status()).toBe(502);
    expect(page.url()).toBe(`${site.origin}/two-locations`);
    await expect(page.locator('h1')).toHaveText(`${new URL(site.origin).host} sent a broken redirect`);
    await page.close();
  });

  test('a plain-HTTP page is injected', async () => {
    const page = await open('nonce', '/', plainSite.origin);
    await expect(page.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
  });

  test('a page a form POST navigates to gets its plugins, over HTTPS (fetch metadata) and plain HTTP, and the site gets the form as sent', async () => {
    for (const origin of [site.origin, plainSite.origin]) {
      const page = await open('nonce', '/form', origin);
      await Promise.all([page.waitForURL(/\/form-result$/), page.locator('#send').click()]);
      await expect(page.locator('#posted')).toHaveText('caf\u00e9 & more');
      await expect(page.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
      expect(await injected(page)).toEqual(['marker', 'ping']);
      await page.close();
    }
  });

  test('without fetch metadata (curl-like clients) Accept decides; XHR and HEAD never', async () => {
    const { proxyUrl, caCertPath } = gateways.nonce!.ready;
    const get = (headers: Record<string, string>, method = 'GET') => proxiedRequest(proxyUrl, caCertPath, `${plainSite.origin}/`, { method, headers });
    expect(withoutInjection((await get({ accept: 'text/html' })).body).injected).not.toBe('');
    expect(withoutInjection((await get({ accept: '*/*' })).body).injected).toBe('');
    expect(withoutInjection((await get({ accept: 'text/html', 'x-requested-with': 'XMLHttpRequest' })).body).injected).toBe('');
    expect((await get({ accept: 'text/html' }, 'HEAD')).body.byteLength).toBe(0);
  });

  test('downloads, error statuses and excluded URLs are not injected', async () => {
    const { proxyUrl, caCertPath } = gateways.nonce!.ready;
    for (const path of ['/download', '/not-found', '/excluded/page']) {
      const response = await proxiedRequest(proxyUrl, caCertPath, `${site.origin}${path}`, { headers: NAVIGATION_HEADERS });
      expect(withoutInjection(response.body).injected, path).toBe('');
    }
  });

  test('injected documents are never cached; sub-resources keep their caching', async () => {
    const { proxyUrl, caCertPath } = gateways.nonce!.ready;
    const document = await proxiedRequest(proxyUrl, caCertPath, `${site.origin}/cached`, { headers: { ...NAVIGATION_HEADERS, 'if-none-match': '"v1"' } });
    expect(document.status).toBe(200);
    expect(document.headers['cache-control']).toBe('no-store');
    expect(document.headers.etag).toBeUndefined();
    expect(withoutInjection(document.body).injected).not.toBe('');
    const style = await proxiedRequest(proxyUrl, caCertPath, `${site.origin}/style.css`, { headers: { 'sec-fetch-dest': 'style', 'sec-fetch-mode': 'no-cors' } });
    expect(style.headers['cache-control']).toBe('max-age=3600');
    expect(style.headers.etag).toBe('"css"');
  });

  test('a large download passes through intact', async () => {
    const { proxyUrl, caCertPath } = gateways.nonce!.ready;
    const response = await proxiedRequest(proxyUrl, caCertPath, `${site.origin}/large.bin`, { headers: NAVIGATION_HEADERS });
    expect(response.body.byteLength).toBe(LARGE_BYTES);
    expect(createHash('sha256').update(response.body).digest('hex')).toBe(createHash('sha256').update(Buffer.alloc(LARGE_BYTES, 7)).digest('hex'));
  });

  test('an HTTP/2-only site loads through the proxy and is injected', async () => {
    const server = createSecureServer({ ...(await generateCACertificate({ subject: { commonName: 'localhost' } })), allowHTTP1: false }, (request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end(`<!doctype html><html><head><title>h2</title></head><body><p id="version">${request.httpVersion}</p></body></html>`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const page = await open('nonce', '/', `https://localhost:${(server.address() as AddressInfo).port}`);
      await expect(page.locator('#version')).toHaveText('2.0');
      await expect(page.locator('html')).toHaveAttribute('data-marker-idle', 'ran');
    } finally {
      server.close();
    }
  });

  test('an upstream with an untrusted certificate gets a clear blocked page, never the site', async () => {
    // A gateway with no test-host exemption: the local site's self-signed certificate must fail.
    const strict = await startGatewayProcess({ args: ['--plugins-dir', FIXTURE_PLUGINS], env: { AIPLUGS_PROXY_TRUSTED_TEST_HOSTS: '' } });
    const browser = await launchThroughProxy(strict.ready.proxyUrl, strict.ready.caSpki);
    try {
      const page = await browser.newPage();
      const response = await goto(page, `${site.origin}/`);
      expect(response?.status()).toBe(502);
      await expect(page.locator('h1')).toHaveText(/^Blocked: localhost:\d+ failed certificate checks$/);
      await expect(page.locator('body')).toContainText('self-signed');
      expect(await injected(page)).toBeNull();
    } finally {
      await browser.close();
      await strict.stop();
    }
  });

  test("the site's own WebSocket passes through", async () => {
    const page = await open('nonce', '/');
    const reply = await page.evaluate(
      () =>
        new Promise<string>((resolve, reject) => {
          const socket = new WebSocket(`wss://${location.host}/socket`);
          socket.onopen = () => socket.send('hello');
          socket.onmessage = (event) => resolve(String(event.data));
          socket.onerror = () => reject(new Error('websocket failed'));
        }),
    );
    expect(reply).toBe('echo:hello');
  });

  test('AiPlugs.connect talks to the plugin over the page WebSocket bridge, across SPA navigations', async () => {
    const page = await open('nonce', '/');
    const results = await page.evaluate(async () => {
      type Connection = { on: (type: string, cb: (detail: { type?: string; result?: unknown; code?: number }) => void) => void; send: (message: unknown) => void; close: () => void };
      const aiplugs = (window as unknown as { AiPlugs: { connect: (id: string) => Connection } }).AiPlugs;
      const call = (connection: Connection, id: number) =>
        new Promise<unknown>((resolve) => {
          connection.on('message', (message) => {
            if (message.type === 'result' || message.type === 'error') resolve(message);
          });
          connection.send({ type: 'infer', id, payload: { n: id } });
        });
      const ping = aiplugs.connect('ping');
      const first = await call(ping, 1);
      history.pushState({}, '', '/moved');
      const second = await call(ping, 2);
      ping.close();
      const refused = await new Promise<number | undefined>((resolve) => aiplugs.connect('elsewhere').on('close', (detail) => resolve(detail.code)));
      return { first, second, refused };
    });
    expect(results.first).toMatchObject({ type: 'result', result: { pong: { n: 1 } } });
    expect(results.second).toMatchObject({ type: 'result', result: { pong: { n: 2 } } });
    expect(results.refused).toBe(4403);
  });

  test('AiPlugs.connect over the socket limit: a message sent at once waits for the socket the gateway takes, and close() during a retry ends it', async () => {
    const page = await open('nonce', '/');
    const outcome = await page.evaluate(async () => {
      type Detail = { type?: string; id?: string; result?: unknown; code?: number };
      type Connection = { on: (type: string, cb: (detail: Detail) => void) => void; send: (message: unknown) => void; close: () => void };
      const aiplugs = (window as unknown as { AiPlugs: { connect: (id: string) => Connection } }).AiPlugs;
      const settle = (connection: Connection) => new Promise<void>((resolve) => connection.on('open', () => resolve()));
      // A page load holds at most 32 plugin sockets (SECURITY.md): these take them all.
      const holders = Array.from({ length: 32 }, () => aiplugs.connect('ping'));
      await Promise.all(holders.map(settle));
      const waiting = aiplugs.connect('ping');
      const refusals: number[] = [];
      waiting.on('close', (detail) => refusals.push(detail.code ?? 0));
      // Sent at once: the gateway refuses this socket (1013) until a place frees. It was sent on the
      // refused socket and lost before.
      const answer = new Promise<Detail>((resolve) => waiting.on('message', (message) => message.type === 'result' && resolve(message)));
      waiting.send({ type: 'infer', id: 'q1', payload: { n: 'queued' } });
      const retrying = aiplugs.connect('ping');
      let reopened = 0;
      retrying.on('open', () => (reopened += 1));
      await new Promise<void>((resolve) => retrying.on('close', () => resolve()));
      // Refused, and waiting to retry: closed now, it must never open (it did, after the wait).
      retrying.close();
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Two places free: one for the waiting socket, one the closed one would have taken.
      holders[0]!.close();
      holders[1]!.close();
      const result = await answer;
      await new Promise((resolve) => setTimeout(resolve, 2000));
      for (const holder of holders) holder.close();
      waiting.close();
      return { result, refused: refusals.includes(1013), reopened };
    });
    expect(outcome).toMatchObject({ result: { type: 'result', id: 'q1', result: { pong: { n: 'queued' } } }, refused: true, reopened: 0 });
  });

  test('AiPlugs.infer refuses a payload JSON cannot carry (bytes, a Blob, a Map, a Set) with a TypeError, where the backend got {}', async () => {
    const page = await open('nonce', '/');
    const outcomes = await page.evaluate(async () => {
      const aiplugs = (window as unknown as { AiPlugs: { infer: (id: string, payload: unknown) => Promise<unknown> } }).AiPlugs;
      const attempt = (payload: unknown) => aiplugs.infer('ping', payload).then((value) => ({ value }), (error: Error) => ({ error: `${error.name}: ${error.message}` }));
      return [await attempt(new Uint8Array([1, 2, 3])), await attempt({ file: new Blob(['x']) }), await attempt(new Map([['a', 1]])), await attempt({ list: [1, 2], at: new Date(0) })];
    });
    expect(outcomes.slice(0, 3).map((outcome) => ('error' in outcome ? outcome.error : 'resolved'))).toEqual([
      expect.stringMatching(/^TypeError: AiPlugs: the payload is bytes/),
      expect.stringMatching(/^TypeError: AiPlugs: "file" in the payload is a Blob/),
      expect.stringMatching(/^TypeError: AiPlugs: the payload is a Map/),
    ]);
    expect(outcomes[3]).toEqual({ value: { pong: { list: [1, 2], at: '1970-01-01T00:00:00.000Z' } } });
  });

  test("AiPlugs.infer works on a page whose libraries set Object.prototype.mode and wrap Response.prototype.json", async () => {
    const page = await open('nonce', '/');
    const outcome = await page.evaluate(async () => {
      const aiplugs = (window as unknown as { AiPlugs: { infer: (id: string, payload: unknown) => Promise<unknown> } }).AiPlugs;
      // Before: every call failed with fetch's raw TypeError (mode "cloud"), or took the page's forged JSON.
      Object.defineProperty(Object.prototype, 'mode', { value: 'cloud', configurable: true, writable: true });
      const json = Response.prototype.json;
      Response.prototype.json = function () {
        return Promise.resolve({ result: 'forged by the page' });
      };
      try {
        return await aiplugs.infer('ping', { n: 1 }).then((value) => ({ value }), (error: Error) => ({ error: `${error.name}: ${error.message}` }));
      } finally {
        delete (Object.prototype as { mode?: unknown }).mode;
        Response.prototype.json = json;
      }
    });
    expect(outcome).toEqual({ value: { pong: { n: 1 } } });
  });

  test("AiPlugs.infer sends arrays and dates as JSON on a page whose library (Prototype.js 1.6) put toJSON on Array and Date", async () => {
    const page = await open('nonce', '/');
    const outcome = await page.evaluate(async () => {
      const aiplugs = (window as unknown as { AiPlugs: { infer: (id: string, payload: unknown) => Promise<unknown> } }).AiPlugs;
      const arrayProto = Array.prototype as { toJSON?: () => string };
      arrayProto.toJSON = function (this: unknown[]) {
        return `[${this.join(', ')}]`;
      };
      Date.prototype.toJSON = function (this: Date) {
        return `"${this.toISOString()}"`;
      };
      // Before: the backend got "ids": "[1, 2]".
      return aiplugs.infer('ping', { ids: [1, [2, 3]], when: new Date(0) }).then((value) => ({ value }), (error: Error) => ({ error: `${error.name}: ${error.message}` }));
    });
    expect(outcome).toEqual({ value: { pong: { ids: [1, [2, 3]], when: '1970-01-01T00:00:00.000Z' } } });
  });

  test('a page may not call a plugin that is not injected into it', async () => {
    const page = await open('nonce', '/');
    const status = await page.evaluate(async () => {
      // The page's own bridge base, from its plugins' file URLs (its performance entries).
      const file = performance.getEntriesByType('resource').map((entry) => entry.name).find((name) => name.includes('/__aiplugs/cap/')) ?? '';
      const bridge = file.slice(0, file.indexOf('/api/plugins/'));
      const response = await fetch(`${bridge}/api/plugins/elsewhere/infer`, { method: 'POST', body: '{"payload":1}', headers: { 'content-type': 'application/json' } });
      return { status: response.status, body: await response.json() };
    });
    expect(status).toEqual({ status: 403, body: { error: { code: 'plugin_not_injected', message: 'This plugin is not active on this page' } } });
  });

  test('per-site disable and global pause stop injection without a restart', async () => {
    const gateway = gateways.strip!;
    const token = await gateway.token();
    const patch = (body: unknown) =>
      fetch(`${gateway.ready.apiUrl}/api/settings`, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await patch({ disabled_sites: ['localhost'] })).status).toBe(200);
    let page = await open('strip', '/');
    expect(await injected(page)).toBeNull();
    expect((await patch({ disabled_sites: [], plugin_disabled_sites: { ping: ['localhost'] } })).status).toBe(200);
    page = await open('strip', '/');
    expect(await injected(page)).toEqual(['marker']);
    expect((await patch({ paused: true, plugin_disabled_sites: {} })).status).toBe(200);
    page = await open('strip', '/');
    expect(await injected(page)).toBeNull();
    expect((await patch({ paused: false })).status).toBe(200);
    page = await open('strip', '/');
    expect(await injected(page)).toEqual(['marker', 'ping']);
  });
});
