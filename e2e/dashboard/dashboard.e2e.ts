import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, expect, test, type Browser, type Page } from '@playwright/test';
import { startGateway, type RunningGateway } from '../../gateway/src/gateway.js';
import { skipUnlessInstalled, TOOLS } from '../../test/support/required-tools.js';
import { runCli } from '../cli/run-cli.js';
import { chromiumPath, QUIET_CHROMIUM_ARGS } from '../support/chromium.js';
import { REPO_ROOT, startGatewayProcess, type GatewayChild } from '../support/gateway-process.js';
import { goto } from '../support/navigate.js';

// Every test spawns real Node and Chromium processes; a busy 2-core machine needs more than the default minute.
test.describe.configure({ timeout: 120_000 });

const ARTIFACTS = join(REPO_ROOT, 'e2e/artifacts');

let browser: Browser;

test.beforeAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: chromiumPath(), args: QUIET_CHROMIUM_ARGS });
});
test.afterAll(async () => browser?.close());

async function api(gateway: { apiUrl: string; token: string }, path: string) {
  const response = await fetch(`${gateway.apiUrl}${path}`, { headers: { authorization: `Bearer ${gateway.token}` } });
  return response.json();
}

async function openDashboard(page: Page, loginUrl: string) {
  await goto(page, loginUrl);
  await expect(page).toHaveURL(/\/$/);
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
}

test.describe('dashboard on a real gateway', () => {
  // One gateway child for these tests, in order: the last one stops it.
  test.describe.configure({ mode: 'serial' });
  let gateway: GatewayChild;
  let home: string;
  let token: string;

  test.beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'aiplugs-dash-home-'));
    // The gateway's own HOME is a throw-away one, so "Install CA certificate" really runs (NSS) and harms nothing.
    gateway = await startGatewayProcess({ env: { HOME: home } });
    token = await gateway.token();
  });
  test.afterAll(async () => {
    await gateway?.stop();
    await rm(home, { recursive: true, force: true });
  });

  test('sign-in: no session goes to /login; a login link works once', async () => {
    const page = await browser.newPage();
    await goto(page, `${gateway.ready.apiUrl}/`);
    await expect(page).toHaveURL(/\/login$/);
    await expect(page.getByRole('heading', { name: 'AiPlugs dashboard' })).toBeVisible();
    const link = (await runCli(['dashboard', '--data-dir', gateway.dataDir])).stdout.trim();
    await openDashboard(page, link);
    const other = await browser.newPage();
    const reused = await goto(other, link);
    expect(reused?.status()).toBe(401);
    await expect(other.getByText('already used or has expired')).toBeVisible();
    // The token form signs in too.
    await other.getByLabel('API token').fill(token);
    await other.getByRole('button', { name: 'Sign in' }).click();
    await expect(other.locator('body')).toHaveAttribute('data-ready', 'true');
    await page.close();
    await other.close();
  });

  test('shows ports, plugins, live log, switches, CA install and the pairing token; screenshot kept', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await openDashboard(page, (await runCli(['dashboard', '--data-dir', gateway.dataDir])).stdout.trim());

    await expect(page.locator('#addresses')).toContainText(gateway.ready.apiUrl);
    await expect(page.locator('#addresses')).toContainText(gateway.ready.proxyUrl);
    await expect(page.locator('#addresses')).toContainText(gateway.ready.caSpki);
    await expect(page.locator('#uptime')).toContainText(/up \d/);
    await expect(page.locator('#state')).toHaveText('running');
    await expect(page.locator('tr[data-plugin="echo"]')).toContainText('enabled');

    // Live log: history replayed, then new lines as they happen, with filters.
    await expect(page.locator('#log')).toContainText('Loaded');
    await expect(page.locator('#log')).toContainText('signed in with a one-time link');
    await page.locator('#log-search').fill('signed in');
    await expect(page.locator('#log li:visible')).not.toHaveCount(0);
    await expect(page.locator('#log li:visible', { hasText: 'Loaded' })).toHaveCount(0);
    await page.locator('#log-search').fill('');

    // Pause and per-site switches go through the settings API.
    await page.getByLabel('Pause all plugins everywhere').check();
    await expect(page.locator('#state')).toHaveText('paused');
    await expect.poll(async () => (await api({ apiUrl: gateway.ready.apiUrl, token }, '/api/settings')).paused).toBe(true);
    await page.getByLabel('Pause all plugins everywhere').uncheck();
    await expect.poll(async () => (await api({ apiUrl: gateway.ready.apiUrl, token }, '/api/settings')).paused).toBe(false);
    await page.getByLabel('Site pattern').fill('*.example.com');
    await page.getByRole('button', { name: 'Disable on site' }).click();
    await expect(page.locator('#disabled-sites')).toContainText('*.example.com');
    expect((await api({ apiUrl: gateway.ready.apiUrl, token }, '/api/settings')).disabled_sites).toEqual(['*.example.com']);

    // Pairing token, hidden (and not even loaded) until asked for.
    await page.getByText('Pair by hand (Firefox)').click();
    await expect(page.locator('#token')).toHaveAttribute('type', 'password');
    await expect(page.locator('#token')).toHaveValue('');
    await page.getByRole('button', { name: 'Show' }).click();
    await expect(page.locator('#token')).toHaveValue(token);
    await page.getByRole('button', { name: 'Hide' }).click();

    // Install the CA (NSS in the gateway's throw-away HOME) after the warning.
    // Installing for real needs NSS's certutil (Linux): a developer without it skips this part
    // (noted on the test), CI never does (skipUnlessInstalled throws there).
    const missing = process.platform === 'linux' ? await skipUnlessInstalled(TOOLS.certutil) : 'NSS trust is verified on Linux';
    if (missing) test.info().annotations.push({ type: 'skipped part', description: `CA install: ${missing}` });
    await expect(page.locator('#ca-summary')).toContainText('Not installed in any trust store');
    if (!missing) {
      await page.getByText('Install into a trust store (optional)').click();
      await expect(page.locator('#ca-warning')).toContainText('aiplugs browser');
      page.once('dialog', (dialog) => void dialog.accept());
      await page.getByRole('button', { name: 'Install CA certificate' }).click();
      await expect(page.locator('#ca-result')).toContainText(`added: nss ${join(home, '.pki/nssdb')}`);
      await expect(page.locator('#ca-locations')).toContainText('✓ trusted');
      await expect(page.locator('#log')).toContainText('CA added in nss');
    }

    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

    if (!missing) {
      await page.getByRole('button', { name: 'Uninstall' }).click();
      await expect(page.locator('#ca-result')).toContainText('removed: nss');
    }
    await page.close();
  });

  test('a session cannot change settings from another origin, and its cookie alone (which reaches every port of 127.0.0.1) does nothing', async () => {
    const page = await browser.newPage();
    await openDashboard(page, (await runCli(['dashboard', '--data-dir', gateway.dataDir])).stdout.trim());
    const cookies = await page.context().cookies();
    const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    // The key the sign-in handed the page, kept in its origin's storage and gone from its address.
    const key = await page.evaluate(() => localStorage.getItem('aiplugs-session-key') ?? '');
    expect(key).toMatch(/^[\w-]{40,}$/);
    expect(page.url()).not.toContain(key);
    const patch = (headers: Record<string, string>) =>
      fetch(`${gateway.ready.apiUrl}/api/settings`, { method: 'PATCH', headers: { cookie, 'content-type': 'application/json', ...headers }, body: '{"paused":true}' });
    expect((await patch({ origin: gateway.ready.apiUrl })).status).toBe(401);
    expect((await fetch(`${gateway.ready.apiUrl}/api/dashboard/pairing`, { headers: { cookie } })).status).toBe(401);
    expect((await patch({ 'x-aiplugs-session': key })).status).toBe(403);
    expect((await patch({ 'x-aiplugs-session': key, origin: 'https://evil.example' })).status).toBe(403);
    expect((await patch({ 'x-aiplugs-session': key, origin: gateway.ready.apiUrl })).status).toBe(200);
    await fetch(`${gateway.ready.apiUrl}/api/settings`, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"paused":false}' });
    await page.close();
  });

  test('the Stop button stops the gateway', async () => {
    const page = await browser.newPage();
    await openDashboard(page, (await runCli(['dashboard', '--data-dir', gateway.dataDir])).stdout.trim());
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Stop gateway' }).click();
    await expect.poll(() => gateway.child.exitCode, { timeout: 20_000 }).toBe(0);
    await page.close();
  });
});

test.describe('dashboard with model downloads and workers', () => {
  let gateway: RunningGateway;
  let dataDir: string;

  test.beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-dash-models-'));
    // In-process, so the test can put model-progress and worker-state events on the bus.
    gateway = await startGateway({
      dataDir,
      writeLog: () => undefined,
      overrides: [
        { path: ['api', 'port'], value: 0, source: 'test' },
        { path: ['proxy', 'port'], value: 0, source: 'test' },
      ],
    });
  });
  test.afterAll(async () => {
    await gateway?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('renders live download progress bars and worker states from the event stream', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await openDashboard(page, gateway.loginUrl());
    const progress = (receivedBytes: number, state: 'downloading' | 'ready') =>
      gateway.bus.emit({ type: 'model-progress', plugin: 'language-lens', filename: 'lid.176.ftz', receivedBytes, totalBytes: 938_013, bytesPerSecond: 2_500_000, state });
    progress(469_006, 'downloading');
    const row = page.locator('tr[data-model="lid.176.ftz"]');
    await expect(row).toContainText('downloading');
    await expect(row.locator('progress')).toHaveAttribute('value', '50.0');
    await expect(row).toContainText('50%');
    gateway.bus.emit({ type: 'worker-state', plugin: 'language-lens', state: 'starting', detail: 'python3 backend.py' });
    await expect(page.locator('tr[data-worker="language-lens"]')).toContainText('starting');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-models.png'), fullPage: true });
    progress(938_013, 'ready');
    gateway.bus.emit({ type: 'worker-state', plugin: 'language-lens', state: 'idle' });
    await expect(row.locator('progress')).toHaveAttribute('value', '100.0');
    await expect(row).toContainText('ready');
    await expect(page.locator('tr[data-worker="language-lens"]')).toContainText('idle');
    await page.close();
  });
});
