import { cp, mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, expect, test, type Browser, type Page } from '@playwright/test';
import { startGateway, type RunningGateway } from '../../gateway/src/gateway.js';
import { randomContent, sha256Hex, startModelServer, type ModelTestServer } from '../../gateway/src/models/testing/model-test-server.js';
import { chromiumPath, launchThroughProxy, QUIET_CHROMIUM_ARGS, writeChromiumLauncher } from '../support/chromium.js';
import { REPO_ROOT } from '../support/gateway-process.js';
import { respond, startTestSite, type TestSite } from '../support/test-site.js';
import { goto } from '../support/navigate.js';

// Real gateway (in-process, its own plugins and models folders), real Chromium through its proxy,
// a real HTTP server for the model: the dashboard's controls, activity view, model buttons and
// "Launch browser", end to end.
test.describe.configure({ mode: 'serial', timeout: 120_000 });

const ARTIFACTS = join(REPO_ROOT, 'e2e/artifacts');
const PAGE = '<!doctype html><html><head><title>Controls test</title></head><body><h1>hello</h1></body></html>';

let root: string;
let site: TestSite;
let models: ModelTestServer;
let gateway: RunningGateway;
let dashboardBrowser: Browser;
let proxied: Browser;
let dashboard: Page;
/** The browser the Launch button starts: a script that runs Chromium headless (AIPLUGS_BROWSER). */
let launcherScript: string;
const modelContent = randomContent(256 * 1024);

async function settings(): Promise<{ paused: boolean; disabled_sites: string[]; plugin_disabled_sites: Record<string, string[]>; plugin_modes: Record<string, string> }> {
  const response = await fetch(`${gateway.info.apiUrl}/api/settings`, { headers: { authorization: `Bearer ${gateway.token}` } });
  return response.json();
}

/** What the extension's popup does to switch a plugin off on a site (background/message-handlers.ts). */
async function patchLikeThePopup(patch: unknown): Promise<void> {
  const response = await fetch(`${gateway.info.apiUrl}/api/settings`, { method: 'PATCH', headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' }, body: JSON.stringify(patch) });
  expect(response.status).toBe(200);
}

/** Resolves with the gateway's next `model-progress` event for tiny.bin in this state; rejects if it fails instead. */
function modelEvent(state: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const unsubscribe = gateway.bus.subscribe((event) => {
      if (event.type !== 'model-progress' || event.filename !== 'tiny.bin') return;
      if (event.state === state) {
        unsubscribe();
        resolve();
      } else if (event.state === 'failed' && state !== 'failed') {
        unsubscribe();
        reject(new Error(`tiny.bin failed instead: ${event.error ?? 'no error given'}`));
      }
    });
  });
}

async function visit(path: string): Promise<void> {
  const page = await proxied.newPage();
  await goto(page, `${site.origin}${path}`);
  await page.close();
}

test.beforeAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  root = await mkdtemp(join(tmpdir(), 'aiplugs-dash-controls-'));
  site = await startTestSite({
    '/page': respond(200, { 'content-type': 'text/html' }, PAGE),
    '/report.pdf': respond(200, { 'content-type': 'application/pdf' }, '%PDF-1.4'),
    '/launched': respond(200, { 'content-type': 'text/html' }, PAGE),
  });
  models = await startModelServer();
  models.files.set('/tiny.bin', { content: modelContent, throttle: { chunkBytes: 32 * 1024, delayMs: 40 } });

  const pluginsDir = join(root, 'plugins');
  await cp(join(REPO_ROOT, 'plugins/echo'), join(pluginsDir, 'echo'), { recursive: true });
  await mkdir(join(pluginsDir, 'modeller'), { recursive: true });
  await writeFile(
    join(pluginsDir, 'modeller', 'manifest.json'),
    JSON.stringify({
      manifest_version: 3,
      id: 'modeller',
      name: 'Modeller',
      version: '1.0.0',
      description: 'A cloud-only plugin that declares one small model.',
      inference: { default_mode: 'cloud', models: [{ key: 'MODEL', filename: 'tiny.bin', source_url: models.url('/tiny.bin'), sha256: sha256Hex(modelContent), size: modelContent.length }] },
    }),
  );
  launcherScript = join(root, 'chromium-headless.sh');
  gateway = await startGateway({
    dataDir: join(root, 'data'),
    writeLog: () => undefined,
    // DISPLAY is only there to pass the no-display check: the script runs Chromium headless.
    env: { ...process.env, AIPLUGS_BROWSER: launcherScript, DISPLAY: ':99' },
    overrides: [
      { path: ['api', 'port'], value: 0, source: 'test' },
      { path: ['proxy', 'port'], value: 0, source: 'test' },
      { path: ['plugins_dir'], value: pluginsDir, source: 'test' },
      { path: ['models_dir'], value: join(root, 'models'), source: 'test' },
      { path: ['proxy', 'trusted_test_hosts'], value: ['localhost'], source: 'test' },
    ],
  });
  dashboardBrowser = await chromium.launch({ executablePath: chromiumPath(), args: QUIET_CHROMIUM_ARGS });
  proxied = await launchThroughProxy(gateway.info.proxyUrl, gateway.info.caSpki);
  dashboard = await dashboardBrowser.newPage({ viewport: { width: 1280, height: 1000 } });
  await goto(dashboard, gateway.loginUrl());
  await expect(dashboard.locator('body')).toHaveAttribute('data-ready', 'true');
});

test.afterAll(async () => {
  await proxied?.close();
  await dashboardBrowser?.close();
  await gateway?.stop();
  await models?.close();
  await site?.close();
  await rm(root, { recursive: true, force: true });
});

test('per-plugin on/off, mode and site rules: saved like the popup saves them, and the popup’s show here', async () => {
  const echo = dashboard.locator('tr[data-plugin="echo"]');
  const modeller = dashboard.locator('tr[data-plugin="modeller"]');

  // On/off: off is the rule `*` in the same per-plugin site rules the popup edits.
  await echo.getByLabel('echo on').uncheck();
  await expect.poll(async () => (await settings()).plugin_disabled_sites.echo).toEqual(['*']);
  await expect(echo).toContainText('off');
  await echo.getByLabel('echo on').check();
  await expect.poll(async () => (await settings()).plugin_disabled_sites.echo).toEqual([]);

  // Mode: only what the manifest allows (modeller has no local backend), default = the manifest's.
  await expect(modeller.getByLabel('modeller mode').locator('option')).toHaveText(['default (cloud)', 'cloud']);
  await expect(echo.getByLabel('echo mode').locator('option')).toHaveText(['default (local)', 'local', 'cloud']);
  await echo.getByLabel('echo mode').selectOption('cloud');
  await expect.poll(async () => (await settings()).plugin_modes).toEqual({ echo: 'cloud' });
  await echo.getByLabel('echo mode').selectOption('');
  await expect.poll(async () => (await settings()).plugin_modes).toEqual({});

  // Site rules: added here, and one made by the popup appears live (the settings event).
  await echo.getByLabel('Site where echo does not run').fill('news.example');
  await echo.getByRole('button', { name: 'Turn off on site' }).click();
  await expect.poll(async () => (await settings()).plugin_disabled_sites.echo).toEqual(['news.example']);
  await patchLikeThePopup({ plugin_disabled_sites: { echo: ['news.example', 'mail.example'] } });
  await expect(echo.locator('.chips')).toContainText('mail.example');

  // A bad pattern: a sentence, not `plugin_disabled_sites.echo.2: …`, and the text stays to be fixed.
  await echo.getByLabel('Site where echo does not run').fill('https://bad.example/path');
  await echo.getByRole('button', { name: 'Turn off on site' }).click();
  await expect(dashboard.locator('#plugins-error')).toHaveText(
    'For plugin "echo": "https://bad.example/path" is not a site pattern: write a host name like example.com or *.example.com, without http://, a path or a port',
  );
  await expect(echo.getByLabel('Site where echo does not run')).toHaveValue('https://bad.example/path');
  // The global switch's box says the same kind of thing.
  await dashboard.getByLabel('Site pattern').fill('http://x.example');
  await dashboard.getByRole('button', { name: 'Disable on site' }).click();
  await expect(dashboard.locator('#switches-error')).toHaveText(/^"http:\/\/x\.example" is not a site pattern: write a host name/);
  await expect(dashboard.getByLabel('Site pattern')).toHaveValue('http://x.example');
  await dashboard.getByLabel('Site pattern').fill('');

  // Removing a rule made by the popup.
  await echo.getByRole('button', { name: 'Remove mail.example from echo' }).click();
  await echo.getByRole('button', { name: 'Remove news.example from echo' }).click();
  await expect.poll(async () => (await settings()).plugin_disabled_sites.echo).toEqual([]);
  await dashboard.screenshot({ path: join(ARTIFACTS, 'dashboard-controls.png'), fullPage: true });
});

test('a settings change while someone types a site rule keeps their focus and every keystroke', async () => {
  // The rows are redrawn on every settings event (the popup, another tab, our own mode change);
  // a redraw in the middle of typing used to drop the focus, and the rest of the typing with it.
  const echo = dashboard.locator('tr[data-plugin="echo"]');
  const box = echo.getByLabel('Site where echo does not run');
  await box.fill(''); // the test before leaves a refused pattern in it
  await box.focus();
  await dashboard.keyboard.type('typed.');
  await patchLikeThePopup({ plugin_modes: { echo: 'cloud' } });
  await expect(echo.getByLabel('echo mode')).toHaveValue('cloud'); // redrawn
  await dashboard.keyboard.type('example');
  await dashboard.keyboard.press('Enter');
  await expect.poll(async () => (await settings()).plugin_disabled_sites.echo).toEqual(['typed.example']);
  await patchLikeThePopup({ plugin_modes: {}, plugin_disabled_sites: { echo: [] } });
  await expect(echo.locator('.chips')).toContainText('runs on every matching site');
});

test('what is typed while a site rule is being saved stays in the box', async () => {
  // The box used to be emptied when the save came back, taking anything typed since with it.
  const box = dashboard.getByLabel('Site pattern');
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await dashboard.route('**/api/settings', async (route) => {
    if (route.request().method() !== 'PATCH') return route.fallback();
    await held;
    return route.continue();
  });
  try {
    await box.fill('first.example');
    await dashboard.getByRole('button', { name: 'Disable on site' }).click();
    await box.fill('second.exa'); // while the first one is still on its way
    release();
    await expect.poll(async () => (await settings()).disabled_sites).toEqual(['first.example']);
    await expect(dashboard.locator('#disabled-sites')).toContainText('first.example');
    await expect(box).toHaveValue('second.exa');
  } finally {
    await dashboard.unroute('**/api/settings');
  }
  await box.fill('');
  await patchLikeThePopup({ disabled_sites: [] });
});

test('activity: documents injected or why not, and inference calls with their time, live and filterable', async () => {
  const rows = dashboard.locator('#activity tr');
  const document = (path: string) => rows.filter({ hasText: `${site.origin}${path}` });

  // Echo's content script calls its backend from the page: a page inference call with its time.
  // The page stays open until then (closing it cancels the call, whose worker may still be starting).
  const page = await proxied.newPage();
  await goto(page, `${site.origin}/page?secret=1`);
  await expect(document('/page').first()).toContainText('injected echo');
  await expect(rows.filter({ hasText: 'echo' }).filter({ hasText: `page ${site.origin}` }).first()).toContainText(/answered in \d+ ms/, { timeout: 60_000 });
  await page.close();
  await expect(dashboard.locator('#activity')).not.toContainText('secret');

  await visit('/report.pdf');
  await expect(document('/report.pdf').first()).toContainText('not injected: not an HTML document');

  await dashboard.getByLabel('Pause all plugins everywhere').check();
  await visit('/page');
  await expect(document('/page').first()).toContainText('not injected: all plugins are paused');
  await dashboard.getByLabel('Pause all plugins everywhere').uncheck();

  await patchLikeThePopup({ plugin_disabled_sites: { echo: ['localhost'] } });
  await visit('/page');
  await expect(document('/page').first()).toContainText('not injected: the matching plugins are switched off on this site');
  await patchLikeThePopup({ plugin_disabled_sites: { echo: [] } });

  await dashboard.getByLabel('Site pattern').fill('localhost');
  await dashboard.getByRole('button', { name: 'Disable on site' }).click();
  await expect(dashboard.locator('#disabled-sites')).toContainText('localhost');
  await visit('/page');
  await expect(document('/page').first()).toContainText('not injected: AiPlugs is switched off on this site');
  await dashboard.getByRole('button', { name: 'Remove localhost' }).click();
  await expect(dashboard.locator('#disabled-sites')).toHaveText('none');

  // A call through the API (the user's, with the token) shows too.
  const answer = await fetch(`${gateway.info.apiUrl}/api/plugins/echo/infer`, { method: 'POST', headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' }, body: '{"payload":{"title":"api"}}' });
  expect(answer.status).toBe(200);
  await expect(rows.filter({ hasText: 'echo' }).filter({ hasText: 'API' }).first()).toContainText(/answered in \d+ ms/);

  // Filters.
  await dashboard.getByLabel('Outcome').selectOption('skipped');
  await expect(rows.filter({ visible: true }).filter({ hasText: 'injected echo' })).toHaveCount(0);
  await expect(rows.filter({ visible: true }).filter({ hasText: 'all plugins are paused' })).toHaveCount(1);
  await dashboard.getByLabel('Outcome').selectOption('');
  await dashboard.getByLabel('Kind').selectOption('inference');
  await expect(rows.filter({ visible: true }).filter({ hasText: 'document' })).toHaveCount(0);
  await expect(rows.filter({ visible: true })).not.toHaveCount(0);
  await dashboard.getByLabel('Kind').selectOption('');
  await dashboard.getByLabel('Filter activity').fill('report.pdf');
  await expect(rows.filter({ visible: true })).toHaveCount(1);
  await expect(dashboard.locator('#activity-note')).toContainText(/^1 of \d+ shown$/);
  await dashboard.getByLabel('Filter activity').fill('');
  await dashboard.getByLabel('Plugin', { exact: true }).selectOption('echo');
  await expect(rows.filter({ visible: true }).filter({ hasText: 'report.pdf' })).toHaveCount(0);
  await dashboard.getByLabel('Plugin', { exact: true }).selectOption('');
  await dashboard.locator('#activity-card').screenshot({ path: join(ARTIFACTS, 'dashboard-activity.png') });

  // A reload gets the history back from the gateway's ring.
  await dashboard.reload();
  await expect(dashboard.locator('body')).toHaveAttribute('data-ready', 'true');
  await expect(document('/report.pdf').first()).toContainText('not an HTML document');
});

test('model buttons: download with progress, verify, and a clear error for a changed file', async () => {
  const row = dashboard.locator('tr[data-model="tiny.bin"]');
  await expect(row).toContainText('missing');
  await row.getByRole('button', { name: 'Download tiny.bin' }).click();
  await expect(row).toContainText('downloading');
  await expect(row).toContainText('ready', { timeout: 60_000 });
  await expect(row.locator('progress')).toHaveAttribute('value', '100.0');
  await expect(row.getByRole('button', { name: 'Download tiny.bin' })).toBeDisabled();

  // The gateway's events can overtake the answer to the request that started the work (a busy
  // machine, a slow network): hold the answer until the result is in, and the row must keep it.
  let answered!: () => void;
  const answerLanded = new Promise<void>((resolve) => (answered = resolve));
  await dashboard.route('**/api/models/verify', async (route) => {
    const verified = modelEvent('ready');
    const response = await route.fetch();
    await verified;
    // Time for the page to receive and show the event before the answer lands.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await route.fulfill({ response });
    answered();
  });
  await row.getByRole('button', { name: 'Verify tiny.bin' }).click();
  await answerLanded;
  await expect(row).toContainText('ready');
  await expect(row.locator('.bar-label')).not.toHaveClass(/error/);
  await dashboard.unroute('**/api/models/verify');

  await writeFile(join(root, 'models', 'tiny.bin'), 'changed on disk');
  await row.getByRole('button', { name: 'Verify tiny.bin' }).click();
  await expect(row).toContainText('failed');
  await expect(row).toContainText('The file does not match its declared SHA-256: download it again');
  await row.getByRole('button', { name: 'Download tiny.bin' }).click();
  await expect(row).toContainText('ready', { timeout: 60_000 });
  await row.getByRole('button', { name: 'Verify tiny.bin' }).click();
  await expect(row).toContainText('ready');
  await dashboard.locator('#models-card').screenshot({ path: join(ARTIFACTS, 'dashboard-models-buttons.png') });
});

test('Launch browser: a clear error when there is none, then Chromium through the proxy', async () => {
  const result = dashboard.locator('#browser-result');
  await dashboard.getByRole('button', { name: 'Launch browser' }).click();
  await expect(result).toHaveText(new RegExp(`^No browser at ${launcherScript.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(set by AIPLUGS_BROWSER\\)`));
  await expect(result).toHaveClass('error');

  // Headless Chromium with everything `aiplugs browser` passes, the built extension included.
  writeChromiumLauncher(launcherScript, ['--headless=new']);
  await dashboard.getByLabel('Page to open').fill(`${site.origin}/launched?from=dashboard`);
  await dashboard.getByRole('button', { name: 'Launch browser' }).click();
  await expect(result).toHaveText(/^Started custom \(pid \d+\) through the proxy/, { timeout: 30_000 });
  // The launched browser's page went through the proxy: it is in the activity view.
  const launched = dashboard.locator('#activity tr').filter({ hasText: `${site.origin}/launched` });
  await expect(launched).toHaveCount(1, { timeout: 60_000 });
  await expect(launched).toContainText('injected echo');
  await unlink(launcherScript);
});

test('at 420 px wide nothing overflows: tables become stacked rows', async () => {
  const narrow = await dashboardBrowser.newPage({ viewport: { width: 420, height: 900 } });
  await goto(narrow, gateway.loginUrl());
  await expect(narrow.locator('body')).toHaveAttribute('data-ready', 'true');
  await expect(narrow.locator('tr[data-model="tiny.bin"]')).toContainText('ready');
  const overflow = await narrow.evaluate(() => ({
    page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    cards: [...document.querySelectorAll<HTMLElement>('.card')].filter((card) => card.scrollWidth > card.clientWidth + 1).map((card) => card.id),
  }));
  expect(overflow).toEqual({ page: 0, cards: [] });
  await narrow.screenshot({ path: join(ARTIFACTS, 'dashboard-420px.png'), fullPage: true });
  await narrow.close();
});
