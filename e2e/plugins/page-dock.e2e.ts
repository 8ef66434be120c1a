import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { keepScreenshot } from '../extension/support/extension-browser.js';
import { clickDock, dockElements, dockSummary } from '../support/page-dock.js';
import { respond } from '../support/test-site.js';
import { REPO_PLUGINS, startExampleStack, STRICT_CSP, strictPage, type ExampleStack } from './support.js';
import { goto } from '../support/navigate.js';

// The page dock the runtime owns (AiPlugs.ui), end to end: the real gateway with the example
// plugin echo (copied, so the test controls which run) and a cloud-mode plugin that hides without a
// cloud, pages under a strict CSP with a style sheet aimed at the dock, and the dock read through
// its closed shadow root.

/** A plugin in cloud mode that shows a button only when the gateway can serve it (`AiPlugs.isAvailable`). */
const CLOUD_ONLY = {
  manifest: {
    manifest_version: 3,
    id: 'cloud-only',
    name: 'Cloud only',
    version: '1.0.0',
    content_scripts: [{ matches: ['<all_urls>'], js: ['content.js'], run_at: 'document_idle' }],
    inference: { default_mode: 'cloud', cloud: { endpoint: 'chat' } },
  },
  script: "(() => { if (window.AiPlugs.isAvailable('cloud-only')) window.AiPlugs.ui.button('cloud-only', { label: 'Ask the cloud', onClick() {} }); })();",
};

/** Page CSS that goes for the dock by name, and for everything else with `!important`. */
const DOCK_HOSTILE_CSS = `
aiplugs-dock { display: none !important; visibility: hidden !important; opacity: 0 !important; position: static !important;
  transform: translateX(-9999px) !important; width: 0 !important; height: 0 !important; }
* { all: unset !important; font-size: 2px !important; color: transparent !important; }
button, span, div, p { display: none !important; }`;

/** A page with its own fixed UI, under the strict policy, without the hostile style sheet (it hides every button). */
const fixedUiPage = (title: string, body: string, head = '') =>
  respond(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': STRICT_CSP }, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title><link rel="stylesheet" href="/fixed-ui.css">${head}</head><body>${body}</body></html>`);
const FIXED_UI_CSS = `.launcher { position: fixed; right: 16px; bottom: 16px; width: 64px; height: 64px; border-radius: 32px; }
.cookie-bar { position: fixed; left: 0; right: 0; bottom: 0; height: 72px; background: #333; }
.cookie-bar button { position: absolute; right: 24px; top: 20px; width: 90px; height: 32px; }`;
const COOKIE_BAR_JS = `setTimeout(() => {
  const bar = document.createElement('div');
  bar.className = 'cookie-bar';
  const accept = document.createElement('button');
  accept.id = 'accept';
  accept.textContent = 'Accept';
  accept.addEventListener('click', () => { document.documentElement.dataset.accepted = 'yes'; });
  bar.append(accept);
  document.body.append(bar);
}, 1000);`;
const RECORDER_JS = `window.__roots = [];
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) { const root = attach.call(this, init); window.__roots.push(root); return root; };`;
const BLOCKER_JS = `window.__blocked = [];
const create = document.createElement;
document.createElement = function (tag, options) {
  const element = create.call(document, tag, options);
  if (String(tag).toLowerCase() === 'script') { element.type = 'javascript/blocked'; window.__blocked.push(element); }
  return element;
};`;

/** The part of `(window as unknown as DockPage).AiPlugs` these tests call (types/aiplugs-page.d.ts has it all). */
interface DockItem {
  remove(): void;
}
interface DockPage {
  AiPlugs: {
    isAvailable(id: string): boolean;
    ui: {
      button(id: string, options: { label: string; onClick: () => void }): DockItem;
      badge(id: string, options: { label: string }): DockItem;
      panel(id: string, options: { label: string; text: string }): DockItem;
      menuCommand(id: string, label: string, run: () => void): () => void;
    };
  };
  dockTest: { clicks: number; command: number };
  dockItems: { button: DockItem; remove: () => void };
}

test.describe.configure({ mode: 'serial', timeout: 120_000 });

let pluginsDir: string;
let stack: ExampleStack;

test.beforeAll(async () => {
  pluginsDir = await mkdtemp(join(tmpdir(), 'aiplugs-e2e-dock-'));
  await cp(join(REPO_PLUGINS, 'echo'), join(pluginsDir, 'echo'), { recursive: true });
  await mkdir(join(pluginsDir, 'cloud-only'));
  await writeFile(join(pluginsDir, 'cloud-only', 'manifest.json'), JSON.stringify(CLOUD_ONLY.manifest));
  await writeFile(join(pluginsDir, 'cloud-only', 'content.js'), CLOUD_ONLY.script);
  stack = await startExampleStack({
    routes: {
      '/hostile.css': respond(200, { 'content-type': 'text/css' }, DOCK_HOSTILE_CSS),
      '/page': strictPage('Dock test', '<main><p>Some text for the plugins.</p></main>'),
      // A session recorder (rrweb: PostHog, Sentry Replay, LogRocket) keeps every shadow root made after it loads.
      '/recorder.js': respond(200, { 'content-type': 'text/javascript' }, RECORDER_JS),
      '/recorded': strictPage('Recorded page', '<main><p>Recorded.</p></main>', '<script src="/recorder.js"></script>'),
      // A consent manager's script blocker (Yett and the like) wraps document.createElement.
      '/blocker.js': respond(200, { 'content-type': 'text/javascript' }, BLOCKER_JS),
      '/blocking': strictPage('Blocking page', '<main><p>Blocked.</p></main>', '<script src="/blocker.js"></script>'),
      // A chat launcher in the bottom-right corner, and a cookie bar along the bottom that comes a second late.
      '/fixed-ui.css': respond(200, { 'content-type': 'text/css' }, FIXED_UI_CSS),
      '/cookie-bar.js': respond(200, { 'content-type': 'text/javascript' }, COOKIE_BAR_JS),
      '/chat': fixedUiPage('Chat page', '<main><p>Help.</p></main><button id="chat" class="launcher">Chat</button>'),
      '/cookies': fixedUiPage('Cookie page', '<main><p>Consent.</p></main>', '<script src="/cookie-bar.js" defer></script>'),
      // A page that freezes the intrinsics it uses (SES-style hardening).
      '/frozen.js': respond(200, { 'content-type': 'text/javascript' }, 'Object.freeze(Error.prototype);'),
      '/frozen': strictPage('Frozen page', '<main><p>Frozen.</p></main>', '<script src="/frozen.js"></script>'),
    },
    pluginsDir,
  });
});

test.afterAll(async () => {
  expect(await stack?.close()).toBe(0);
  await rm(pluginsDir, { recursive: true, force: true });
});

async function openPage(): Promise<Page> {
  const page = await stack.browser.newPage();
  await goto(page, `${stack.site.origin}/page`);
  await expect.poll(() => dockSummary(page)).toEqual(['badge echo: Dock test', 'collapse ›']);
  return page;
}

/** What `__aiplugsRuntime.reconcile` does for the extension on "Pause all" and on resume. */
async function reconcile(page: Page, plugins: string[], retry = false): Promise<void> {
  await page.evaluate(
    ({ ids, retry }) => {
      const runtime = (window as unknown as { __aiplugsRuntime: { reconcile(plan: object): string[] } }).__aiplugsRuntime;
      runtime.reconcile({ retry, plugins: ids.map((id) => ({ id, scripts: [{ run_at: 'document_idle', js: [{ file: 'content.js', path: `/api/plugins/${id}/files/content.js` }] }] })) });
    },
    { ids: plugins, retry },
  );
}

/** Registers `count` badges for plugin `id` in the page: 'registered', or the error AiPlugs.ui threw. */
function registerBadges(page: Page, id: string, count: number): Promise<string> {
  return page.evaluate(
    ({ id, count }) => {
      try {
        for (let i = 0; i < count; i += 1) (window as unknown as DockPage).AiPlugs.ui.badge(id, { label: `n${i}` });
        return 'registered';
      } catch (error) {
        return (error as Error).message;
      }
    },
    { id, count },
  );
}

test('echo puts its badge in the dock, a cloud-mode plugin shows nothing without a cloud, and page CSS cannot touch the dock', async () => {
  const page = await openPage();
  // No plugin floats a widget of its own: the dock is the one AiPlugs element in the page.
  expect(await page.evaluate(() => [...document.querySelectorAll('*')].map((element) => element.localName).filter((name) => name.startsWith('aiplugs-')))).toEqual(['aiplugs-dock']);
  expect(await page.evaluate(() => (window as unknown as DockPage).AiPlugs.isAvailable('cloud-only'))).toBe(false);
  expect(await page.evaluate(() => (window as unknown as DockPage).AiPlugs.isAvailable('echo'))).toBe(true);
  expect(await page.content()).not.toMatch(/base_url|api_key|CLOUD_BASE_URL/i);

  const [badge] = await dockElements(page);
  // Visible, on screen, in the bottom-right corner, and the page's own hit test finds the dock there.
  expect(badge!.box.width).toBeGreaterThan(20);
  expect(badge!.box.height).toBeGreaterThan(8);
  const viewport = page.viewportSize()!;
  expect(badge!.box.x + badge!.box.width).toBeLessThanOrEqual(viewport.width);
  expect(badge!.box.x).toBeGreaterThan(viewport.width / 2);
  expect(badge!.box.y).toBeGreaterThan(viewport.height / 2);
  expect(badge!.hit).toBe('aiplugs-dock');
  // The closed shadow root: page scripts get nothing to reach into.
  expect(await page.evaluate(() => document.querySelector('aiplugs-dock')!.shadowRoot)).toBeNull();
  await keepScreenshot(page, 'page-dock-echo');
});

test("a page's wrapped DOM functions get nothing of the dock or the plugins: a recorder no shadow root, a blocker no script (helper-78)", async () => {
  const recorded = await stack.browser.newPage();
  await goto(recorded, `${stack.site.origin}/recorded`);
  await expect.poll(() => dockSummary(recorded)).toEqual(['badge echo: Recorded page', 'collapse ›']);
  // Before, the recorder was handed the dock's closed root and read the plugin's text in it.
  expect(await recorded.evaluate(() => (window as unknown as { __roots: ShadowRoot[] }).__roots.length)).toBe(0);
  const blocking = await stack.browser.newPage();
  await goto(blocking, `${stack.site.origin}/blocking`);
  // Before, echo's script was created through the wrapper, typed out of running, and no error said so.
  await expect.poll(() => dockSummary(blocking)).toEqual(['badge echo: Blocking page', 'collapse ›']);
  expect(await blocking.evaluate(() => (window as unknown as { __blocked: unknown[] }).__blocked.length)).toBe(0);
  await Promise.all([recorded.close(), blocking.close()]);
});

test("the dock leaves the page's own fixed controls clickable: it takes another corner (helper-78)", async () => {
  const chat = await stack.browser.newPage();
  await goto(chat, `${stack.site.origin}/chat`);
  await expect.poll(() => dockSummary(chat)).toEqual(['badge echo: Chat page', 'collapse ›']);
  // Before, the dock sat over the launcher's lower half and the page's own hit test found the dock there.
  await expect.poll(() => chat.evaluate(() => document.elementFromPoint(innerWidth - 40, innerHeight - 24)?.id)).toBe('chat');
  const [badge] = await dockElements(chat);
  expect(badge!.box.x).toBeLessThan(chat.viewportSize()!.width / 2);
  await chat.click('#chat');

  const cookies = await stack.browser.newPage();
  await goto(cookies, `${stack.site.origin}/cookies`);
  await expect.poll(() => dockSummary(cookies)).toEqual(['badge echo: Cookie page', 'collapse ›']);
  await cookies.locator('#accept').waitFor();
  // The bar covers both bottom corners, so the dock goes to the top; the Accept button takes the click.
  await expect.poll(async () => (await dockElements(cookies))[0]?.box.y ?? 1e9).toBeLessThan(cookies.viewportSize()!.height / 2);
  await cookies.click('#accept');
  await expect(cookies.locator('html')).toHaveAttribute('data-accepted', 'yes');
  await Promise.all([chat.close(), cookies.close()]);
});

test('on a page that froze Error.prototype, a failed call still rejects with an AiPlugsError and its code; a printout leaves the dock out', async () => {
  const page = await stack.browser.newPage();
  await goto(page, `${stack.site.origin}/frozen`);
  await expect.poll(() => dockSummary(page)).toEqual(['badge echo: Frozen page', 'collapse ›']);
  const failure = await page.evaluate(() =>
    (window as unknown as { AiPlugs: { infer(id: string, payload: unknown): Promise<unknown> } }).AiPlugs.infer('no-such-plugin', {}).then(
      () => null,
      (error: Error & { code?: string }) => [error.name, error.code],
    ),
  );
  // Before: a raw TypeError, "Cannot assign to read only property 'name'".
  expect(failure).toEqual(['AiPlugsError', 'plugin_not_injected']);
  await page.emulateMedia({ media: 'print' });
  expect(await page.evaluate(() => getComputedStyle(document.querySelector('aiplugs-dock')!).display)).toBe('none');
  await page.emulateMedia({ media: 'screen' });
  expect(await page.evaluate(() => getComputedStyle(document.querySelector('aiplugs-dock')!).display)).toBe('block');
  await page.close();
});

test('a plugin registers and removes buttons, badges, panels and menu commands; labels stay text', async () => {
  const page = await openPage();
  await page.evaluate(() => {
    const w = window as unknown as DockPage;
    const ui = w.AiPlugs.ui;
    const state = { clicks: 0, command: 0 };
    w.dockTest = state;
    const button = ui.button('echo', { label: '<img src=x onerror="document.title=1">', onClick: () => (state.clicks += 1) });
    ui.panel('echo', { label: 'Result', text: 'line one\nline two' });
    const remove = ui.menuCommand('echo', 'Do the thing', () => (state.command += 1));
    w.dockItems = { button, remove };
  });
  await expect.poll(() => dockSummary(page)).toEqual([
    'panel Result: line one\nline two',
    'badge echo: Dock test',
    'button <img src=x onerror="document.title=1">',
    'menu-toggle ⋯',
    'collapse ›',
  ]);
  await clickDock(page, (element) => element.kind === 'button' && element.plugin === 'echo');
  await expect.poll(() => page.evaluate(() => (window as unknown as DockPage).dockTest.clicks)).toBe(1);
  expect(await page.title()).toBe('Dock test'); // the label was never markup

  // The "⋯" menu lists the command with its owner; choosing it runs the plugin's callback.
  await clickDock(page, (element) => element.kind === 'menu-toggle');
  await expect.poll(async () => (await dockElements(page)).filter((element) => element.kind === 'menu-item').map((element) => `${element.plugin}: ${element.text}`)).toEqual(['echo: Do the thing']);
  await keepScreenshot(page, 'page-dock-menu');
  await clickDock(page, (element) => element.kind === 'menu-item');
  await expect.poll(() => page.evaluate(() => (window as unknown as DockPage).dockTest.command)).toBe(1);

  // Closing a panel hides it; removing entries takes them out.
  await clickDock(page, (element) => element.kind === 'panel');
  await page.evaluate(() => {
    const items = (window as unknown as DockPage).dockItems;
    items.button.remove();
    items.remove();
  });
  await expect.poll(() => dockSummary(page)).toEqual(['panel Result: line one\nline two', 'badge echo: Dock test', 'collapse ›']);

  // Only plugins running in this page can register, and only so many entries each.
  expect(await registerBadges(page, 'not-here', 1)).toBe('AiPlugs.ui: plugin "not-here" is not running in this page');
  expect(await registerBadges(page, 'echo', 100)).toMatch(/already has 24 entries/);
});

test('collapsing leaves one toggle; a page that removes the dock gets it back', async () => {
  const page = await openPage();
  await clickDock(page, (element) => element.kind === 'collapse');
  await expect.poll(() => dockSummary(page)).toEqual(['collapse AiPlugs 1']);
  await keepScreenshot(page, 'page-dock-collapsed');
  await clickDock(page, (element) => element.kind === 'collapse');
  await expect.poll(() => dockSummary(page)).toEqual(['badge echo: Dock test', 'collapse ›']);

  await page.evaluate(() => document.querySelector('aiplugs-dock')!.remove());
  await expect.poll(() => page.evaluate(() => document.querySelectorAll('aiplugs-dock').length)).toBe(1);
  await expect.poll(() => dockSummary(page)).toEqual(['badge echo: Dock test', 'collapse ›']);
});

test("a page's overlay at the highest z-index, or a transformed root, neither covers nor moves the dock", async () => {
  const page = await openPage();
  await page.evaluate(() => {
    // A cookie wall, appended after the dock, over the whole window.
    const wall = document.createElement('div');
    wall.id = 'cookie-wall';
    document.documentElement.append(wall);
    // A constructed sheet: the page's policy refuses inline styles. A transformed root is the
    // containing block of fixed elements inside it.
    const sheet = new CSSStyleSheet();
    // (!important and an id: this page's /hostile.css unsets everything with !important.)
    sheet.replaceSync('#cookie-wall { display: block !important; position: fixed !important; inset: 0 !important; z-index: 2147483647 !important; background: rgba(0,0,0,.5) !important } html { transform: translateZ(0) !important } body { display: block !important; height: 4000px !important }');
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  });
  // The page's styles took.
  expect(await page.evaluate(() => [getComputedStyle(document.getElementById('cookie-wall')!).zIndex, getComputedStyle(document.documentElement).transform !== 'none'])).toEqual(['2147483647', true]);
  const [badge] = await dockElements(page);
  const viewport = page.viewportSize()!;
  // Before: the hit test found div#cookie-wall, and the dock sat at y ≈ 3970, off screen.
  expect(badge!.hit).toBe('aiplugs-dock');
  expect(badge!.box.y + badge!.box.height).toBeLessThanOrEqual(viewport.height);
  expect(badge!.box.y).toBeGreaterThan(viewport.height / 2);
});

test('a page that replaces its root element, or rewrites itself with document.write, gets the dock back', async () => {
  const page = await openPage();
  await page.evaluate(() => {
    const root = document.createElement('html');
    root.append(document.createElement('head'), document.createElement('body'));
    document.replaceChild(root, document.documentElement);
  });
  await expect.poll(() => page.evaluate(() => document.querySelectorAll('aiplugs-dock').length)).toBe(1);
  await expect.poll(() => dockSummary(page)).toEqual(['badge echo: Dock test', 'collapse ›']);
  await page.evaluate(() => {
    // The page's policy requires Trusted Types for markup sinks.
    const types = (window as unknown as { trustedTypes: { createPolicy(name: string, rules: { createHTML(text: string): string }): { createHTML(text: string): string } } }).trustedTypes;
    const policy = types.createPolicy('dock-test', { createHTML: (text) => text });
    document.open();
    document.write(policy.createHTML('<!doctype html><html><head><title>rewritten</title></head><body><p>new</p></body></html>'));
    document.close();
  });
  await expect.poll(() => page.evaluate(() => document.querySelectorAll('aiplugs-dock').length)).toBe(1);
  await expect.poll(() => dockSummary(page)).toEqual(['badge echo: Dock test', 'collapse ›']);
});

test('pausing removes every entry of the plugin; resuming brings back what it registers again', async () => {
  const page = await openPage();
  await page.evaluate(() => (window as unknown as DockPage).AiPlugs.ui.menuCommand('echo', 'Extra', () => undefined));
  await reconcile(page, []); // "Pause all"
  await expect.poll(() => dockSummary(page)).toEqual([]);
  expect(await page.evaluate(() => document.querySelectorAll('aiplugs-dock').length)).toBe(0);
  // A stopped plugin cannot register again until it runs again.
  expect(await registerBadges(page, 'echo', 1)).toMatch(/not running/);

  await reconcile(page, ['echo']); // resumed: its script runs again and registers its badge
  await expect.poll(() => dockSummary(page)).toEqual(['badge echo: Dock test', 'collapse ›']);
});

test('a retry after an error restarts the plugin with a clean slate: its entries are not doubled', async () => {
  const page = await openPage();
  // A call in a mode the user did not set fails, which puts the plugin in error.
  await page.evaluate(() => (window as unknown as { AiPlugs: { infer(id: string, payload: unknown, options: object): Promise<unknown> } }).AiPlugs.infer('echo', {}, { mode: 'cloud' }).catch(() => undefined));
  await reconcile(page, ['echo'], true); // the popup's retry
  await expect.poll(() => page.evaluate(() => document.documentElement.dataset.aiplugsEcho !== undefined)).toBe(true);
  await expect.poll(() => dockSummary(page)).toEqual(['badge echo: Dock test', 'collapse ›']);
});
