import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import getPort, { portNumbers } from 'get-port';
import { loopbackChromium } from '../support/chromium.js';
import { CLI, REPO_ROOT, startGatewayProcess, type GatewayChild } from '../support/gateway-process.js';
import { respond, startTestSite, type TestSite } from '../support/test-site.js';
import { badgeText, EXTENSION_ID, FIXTURE_PLUGINS, keepScreenshot, launchWithExtension, openPopup, tabIdOf, type ExtensionBrowser } from './support/extension-browser.js';
import { startExtensionSite } from './support/extension-site.js';
import { goto } from '../support/navigate.js';

/**
 * Pairing without copy-paste: `aiplugs browser` pairs the extension it loads (over the DevTools
 * pipe) and keeps its profile; the dashboard's one click, confirmed in the extension's own tab;
 * the popup finding a gateway that moved, in words; and what a hostile page or another local
 * account's gateway cannot do.
 */

test.describe.configure({ mode: 'serial', timeout: 180_000 });

let dataDir: string;
let site: TestSite;
/** One proxy port for every restart: the browser's --proxy-server stays right while the API port moves. */
let proxyPort: number;
const cleanups: Array<() => Promise<unknown>> = [];

test.beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-pairing-'));
  proxyPort = await getPort({ port: portNumbers(46000, 46999), host: '127.0.0.1' });
  site = await startExtensionSite();
});
test.afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await site?.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** A gateway on the shared data dir (so the same token) at a chosen API port. */
async function gatewayAt(apiPort: number, dir = dataDir): Promise<GatewayChild> {
  const gateway = await startGatewayProcess({ dataDir: dir, args: ['--plugins-dir', FIXTURE_PLUGINS, '--api-port', String(apiPort), '--proxy-port', String(proxyPort)] });
  cleanups.push(() => gateway.stop());
  return gateway;
}

const outsideRange = () => getPort({ port: portNumbers(47000, 47999), host: '127.0.0.1' });

/** Signs a page into the dashboard with a one-time link. */
async function openDashboard(context: BrowserContext, gateway: GatewayChild): Promise<Page> {
  const response = await fetch(`${gateway.ready.apiUrl}/api/dashboard/login-link`, { method: 'POST', headers: { authorization: `Bearer ${await gateway.token()}` } });
  const { url } = (await response.json()) as { url: string };
  const page = await context.newPage();
  await goto(page, url);
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  return page;
}

async function connectionOf(context: BrowserContext, tabId?: number) {
  const popup = await openPopup(context, tabId);
  return { popup, line: popup.getByTestId('connection') };
}

const pairedLines = (gateway: GatewayChild) => gateway.log().split('\n').filter((line) => /Pairing: chrome-extension:\/\/\w+ is paired/.test(line)).length;

test('aiplugs browser pairs the extension it loads, keeps the named profile (no new pairing on the next launch), and refuses a profile open elsewhere', async () => {
  const gateway = await gatewayAt(await outsideRange());
  const launch = async () => {
    const child = spawn(process.execPath, [CLI, 'browser', '--headless', '--json', '--data-dir', dataDir, `${site.origin}/plain`], {
      cwd: REPO_ROOT,
      env: { ...process.env, AIPLUGS_BROWSER: loopbackChromium() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(async () => child.exitCode === null && child.kill('SIGTERM'));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const events: Array<Record<string, unknown>> = [];
    createInterface({ input: child.stdout }).on('line', (line) => events.push(JSON.parse(line) as Record<string, unknown>));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await expect.poll(() => events.length, { timeout: 30_000, message: stderr }).toBeGreaterThan(0);
    return { child, started: events[0]!, exited };
  };
  const profileDir = join(dataDir, 'profiles', 'default');
  const first = await launch();
  expect(first.started).toMatchObject({ profile: 'default', profileDir, pairing: 'offered', paired: true, gatewayAttached: true });
  expect(gateway.log()).toContain('Pairing: one-time code issued for extension begpjpdcgffpmaidncfacapllamkklkg');
  await expect.poll(() => pairedLines(gateway), { timeout: 30_000 }).toBe(1);
  // …and then went on to the page asked for, through the proxy.
  await expect.poll(() => site.requests.filter((request) => request.path === '/plain').length, { timeout: 30_000 }).toBeGreaterThan(0);

  // The profile is in use: a second browser on it is refused with a clear error, not a silent exit.
  const clash = spawn(process.execPath, [CLI, 'browser', '--headless', '--data-dir', dataDir], { cwd: REPO_ROOT, env: { ...process.env, AIPLUGS_BROWSER: loopbackChromium() } });
  let clashErr = '';
  clash.stderr.on('data', (chunk: Buffer) => (clashErr += chunk.toString()));
  expect(await new Promise((resolve) => clash.once('exit', resolve))).toBe(1);
  expect(clashErr).toMatch(/already open in another browser \(pid \d+\)/);

  first.child.kill('SIGTERM');
  expect(await first.exited).toBe(0);
  expect(existsSync(join(profileDir, 'Default'))).toBe(true);

  // Same profile again: still paired, so the new code is not redeemed; the page it asked for loads.
  const loads = site.requests.filter((request) => request.path === '/plain').length;
  const second = await launch();
  expect(second.started.profileDir).toBe(profileDir);
  await expect.poll(() => site.requests.filter((request) => request.path === '/plain').length, { timeout: 30_000 }).toBeGreaterThan(loads);
  expect(pairedLines(gateway)).toBe(1);
  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
  expect(existsSync(profileDir)).toBe(true);

  // What the extension in that profile says, opened again under Playwright.
  const browser = await launchWithExtension({ userDataDir: profileDir });
  try {
    const popup = await openPopup(browser.context);
    await expect(popup.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
    await expect(popup.getByTestId('address')).toHaveValue(gateway.ready.apiUrl);
    await keepScreenshot(popup, 'popup-paired-by-aiplugs-browser');
  } finally {
    await browser.context.close();
  }
  await gateway.stop();
});

/** The extension's pairing confirmation, which it opens in a tab of its own when a page offers a code. */
const confirmationTab = (context: BrowserContext) => context.waitForEvent('page', { predicate: (page) => page.url().startsWith(`chrome-extension://${EXTENSION_ID}/pairing.html`) });

test("a page's offer alone pairs nothing: another account's gateway gets a confirmation the user can decline, even from an unpaired extension", async () => {
  // Attack: another local account runs a whole gateway on 127.0.0.1 (here a real one on another
  // data dir) and gets its page opened in a top frame (a website can send a tab there). The
  // extension has never been paired: before, it took the offer at once and planned what it
  // injects on every site from that server.
  const squatterDir = await mkdtemp(join(tmpdir(), 'aiplugs-pairing-unpaired-'));
  cleanups.push(() => rm(squatterDir, { recursive: true, force: true }));
  const other = await startGatewayProcess({ dataDir: squatterDir, args: ['--plugins-dir', FIXTURE_PLUGINS, '--api-port', String(await outsideRange())] });
  cleanups.push(() => other.stop());
  const browser = await launchWithExtension();
  cleanups.push(() => browser.close());
  const lure = await openDashboard(browser.context, other);
  // Offers sent all at once open one question, not one each.
  const burst = confirmationTab(browser.context);
  const results = await lure.evaluate(
    () =>
      new Promise<Array<{ pending?: boolean; message: string }>>((resolve) => {
        const seen: Array<{ pending?: boolean; message: string }> = [];
        window.addEventListener('message', (event) => {
          if ((event.data as { type?: string })?.type === 'aiplugs:pairing-result' && seen.push(event.data as { message: string }) === 5) resolve(seen);
        });
        for (let i = 0; i < 5; i += 1) window.postMessage({ type: 'aiplugs:pairing-offer', code: `burst-${i}` }, location.origin);
      }),
  );
  expect(results.filter((result) => result.pending)).toHaveLength(1);
  expect(results.filter((result) => /waits for an answer in the AiPlugs tab/.test(result.message))).toHaveLength(4);
  await (await burst).close();
  expect(browser.context.pages().filter((page) => page.url().startsWith(`chrome-extension://${EXTENSION_ID}/pairing.html`))).toHaveLength(0);
  const opened = confirmationTab(browser.context);
  await lure.getByRole('button', { name: 'Pair the extension' }).click();
  await expect(lure.locator('#pair-result')).toHaveAttribute('data-state', 'confirm');
  await expect(lure.locator('#pair-result')).toContainText('Confirm in the AiPlugs tab');
  const confirmation = await opened;
  await expect(confirmation.getByTestId('pairing-address')).toHaveText(other.ready.apiUrl);
  await keepScreenshot(confirmation, 'pairing-confirmation');
  expect(pairedLines(other)).toBe(0);
  // One offer waits at a time: another (here from a second page) is refused while its question is open (no pile of tabs).
  const again = await openDashboard(browser.context, other);
  await again.getByRole('button', { name: 'Pair the extension' }).click();
  await expect(again.locator('#pair-result')).toHaveAttribute('data-state', 'failed');
  await expect(again.locator('#pair-result')).toContainText('waits for an answer in the AiPlugs tab');
  await again.close();
  expect(browser.context.pages().filter((page) => page.url().startsWith(`chrome-extension://${EXTENSION_ID}/pairing.html`))).toHaveLength(1);
  let { popup, line } = await connectionOf(browser.context);
  await expect(line).toHaveAttribute('data-state', 'unconfigured');
  await popup.close();

  // The user did not ask for this: declined, nothing redeemed, and the page is told so.
  await confirmation.getByTestId('pairing-decline').click();
  await expect(confirmation.getByTestId('pairing-status')).toHaveAttribute('data-state', 'declined');
  await expect(lure.locator('#pair-result')).toHaveAttribute('data-state', 'failed');
  await expect(lure.locator('#pair-result')).toContainText('declined');
  expect(pairedLines(other)).toBe(0);
  ({ popup, line } = await connectionOf(browser.context));
  await expect(line).toHaveAttribute('data-state', 'unconfigured');
  await popup.close();
  // …and the page cannot ask again at once: no question after question until the user gives in.
  await lure.getByRole('button', { name: 'Pair the extension' }).click();
  await expect(lure.locator('#pair-result')).toHaveAttribute('data-state', 'failed');
  await expect(lure.locator('#pair-result')).toContainText('declined in this browser a moment ago');
  // A decision is taken once: the page cannot have the declined offer accepted later.
  await confirmation.reload();
  await expect(confirmation.getByTestId('pairing-status')).toHaveAttribute('data-state', 'gone');
  await expect(confirmation.getByTestId('pairing-accept')).toBeHidden();
  await browser.close();
  await other.stop();
});

test('the dashboard pairs with one click and the user\'s confirmation, the popup explains each state in words and finds the gateway where it moved; hostile pages cannot pair or read the token', async () => {
  const portA = await outsideRange();
  let gateway = await gatewayAt(portA);
  const token = await gateway.token();
  const browser: ExtensionBrowser = await launchWithExtension({ proxyServer: gateway.ready.proxyUrl, caSpki: gateway.ready.caSpki });
  cleanups.push(() => browser.close());
  const { context } = browser;

  // Unpaired, on a page the proxy injected: it says so, not "Injection failed".
  const page = await context.newPage();
  await goto(page, `${site.origin}/plain`);
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  const tabId = await tabIdOf(browser, page);
  // Never paired, and the gateway is outside the contract's ports: nothing to find yet.
  let { popup, line } = await connectionOf(context, tabId);
  await expect(line).toHaveAttribute('data-state', 'unconfigured');
  await expect(line).toContainText('No AiPlugs gateway found on this machine (looked at ports 5000-5100)');
  await expect(popup.getByTestId('injection')).toContainText('injected by the gateway proxy');
  await expect(popup.getByTestId('injection')).not.toContainText('Injection failed');
  await expect(popup.getByTestId('token')).toHaveAttribute('placeholder', /aiplugs status --token/);
  await keepScreenshot(popup, 'popup-unpaired-proxied-page');
  await popup.close();

  // Attack: a page on another local server posts pairing offers (a garbage code, and a real one it stole).
  const hostile = await startTestSite({
    '/': respond(200, { 'content-type': 'text/html' }, '<!doctype html><title>hostile</title><p>hi</p>'),
    '/api/health': respond(200, { 'content-type': 'application/json' }, JSON.stringify({ status: 'ok', name: 'aiplugs', version: '9', apiPort: 0, proxyPort: 0 })),
  });
  cleanups.push(() => hostile.close());
  const stolen = ((await (await fetch(`${gateway.ready.apiUrl}/api/pairing/codes`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' })).json()) as { code: string }).code;
  const evil = await context.newPage();
  await goto(evil, `http://localhost:${new URL(hostile.origin).port}/`);
  const answers = await evil.evaluate(async ({ codes, api }) => {
    const results: unknown[] = [];
    for (const code of codes) {
      results.push(
        await new Promise((resolve) => {
          const onMessage = (event: MessageEvent) => {
            if ((event.data as { type?: string })?.type !== 'aiplugs:pairing-result') return;
            window.removeEventListener('message', onMessage);
            resolve(event.data);
          };
          window.addEventListener('message', onMessage);
          window.postMessage({ type: 'aiplugs:pairing-offer', code }, location.origin);
          setTimeout(() => resolve('no answer'), 8000);
        }),
      );
    }
    // And straight at the gateway with the stolen code.
    const direct = await fetch(`${api}/api/pairing/redeem`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: codes[1] }) }).then(
      async (response) => `${response.status} ${await response.text()}`,
      (error: Error) => `blocked: ${error.message}`,
    );
    return { results, direct };
  }, { codes: ['garbage', stolen], api: gateway.ready.apiUrl });
  for (const result of answers.results) expect(result).toMatchObject({ paired: false, message: expect.stringMatching(/not an AiPlugs gateway/) });
  expect(JSON.stringify(answers)).not.toContain(token);
  expect(answers.direct).not.toContain(token);
  ({ popup, line } = await connectionOf(context));
  await expect(line).toHaveAttribute('data-state', 'unconfigured');
  await popup.close();
  await evil.close();

  // One click in the dashboard, and one in the extension's own tab to confirm; the dashboard
  // window never sees the token.
  const dashboard = await openDashboard(context, gateway);
  await dashboard.evaluate(() => {
    (window as unknown as { __seen: string[] }).__seen = [];
    window.addEventListener('message', (event) => (window as unknown as { __seen: string[] }).__seen.push(JSON.stringify(event.data)));
  });
  const opened = confirmationTab(context);
  await dashboard.getByRole('button', { name: 'Pair the extension' }).click();
  await expect(dashboard.locator('#pair-result')).toHaveAttribute('data-state', 'confirm');
  const confirmation = await opened;
  await expect(confirmation.getByTestId('pairing-address')).toHaveText(gateway.ready.apiUrl);
  expect(pairedLines(gateway)).toBe(0);
  await confirmation.getByTestId('pairing-accept').click();
  await expect(confirmation.getByTestId('pairing-status')).toHaveAttribute('data-state', 'paired');
  await expect(dashboard.locator('#pair-result')).toHaveAttribute('data-state', 'paired');
  await expect(dashboard.locator('#pair-result')).toContainText('Paired with AiPlugs');
  expect(await dashboard.evaluate(() => (window as unknown as { __seen: string[] }).__seen.join('\n'))).not.toContain(token);
  await expect(dashboard.locator('#token')).toHaveValue('');
  await keepScreenshot(dashboard, 'dashboard-paired-in-one-click');
  ({ popup, line } = await connectionOf(context, tabId));
  await expect(line).toHaveAttribute('data-state', 'connected');
  await expect(line).toContainText('Pages come through its proxy');
  await keepScreenshot(popup, 'popup-paired');
  await popup.close();
  await dashboard.close();

  // Attack: another server on loopback that acts as a whole gateway (here a real one with another
  // data dir: another account's, say) offers a code from its page. While the paired gateway runs,
  // the extension stays with it; switching takes the other gateway's token, pasted in the popup.
  const squatterDir = await mkdtemp(join(tmpdir(), 'aiplugs-pairing-squatter-'));
  cleanups.push(() => rm(squatterDir, { recursive: true, force: true }));
  const other = await startGatewayProcess({ dataDir: squatterDir, args: ['--plugins-dir', FIXTURE_PLUGINS, '--api-port', String(await outsideRange())] });
  cleanups.push(() => other.stop());
  const otherDashboard = await openDashboard(context, other);
  await otherDashboard.getByRole('button', { name: 'Pair the extension' }).click();
  await expect(otherDashboard.locator('#pair-result')).toHaveAttribute('data-state', 'failed');
  await expect(otherDashboard.locator('#pair-result')).toContainText(`paired with the AiPlugs gateway at http://127.0.0.1:${portA}`);
  expect(pairedLines(other)).toBe(0);
  await otherDashboard.close();
  await other.stop();
  ({ popup, line } = await connectionOf(context, tabId));
  await expect(line).toHaveAttribute('data-state', 'connected');
  await popup.close();

  // Not running: in words, naming where it looked; another gateway answering in the contract's
  // range (another account's, say) is named as another one, not offered as this browser's to pair
  // with (the popup said "runs at …, but this browser is not paired with it").
  await gateway.stop();
  const bystanderDir = await mkdtemp(join(tmpdir(), 'aiplugs-pairing-bystander-'));
  cleanups.push(() => rm(bystanderDir, { recursive: true, force: true }));
  // (On the stopped gateway's proxy port: this browser goes through it, loopback included.)
  const bystander = await startGatewayProcess({ dataDir: bystanderDir, args: ['--plugins-dir', FIXTURE_PLUGINS, '--api-port', String(await getPort({ port: portNumbers(5000, 5100), host: '127.0.0.1' })), '--proxy-port', String(proxyPort)] });
  cleanups.push(() => bystander.stop());
  ({ popup, line } = await connectionOf(context));
  await expect(line).toHaveAttribute('data-state', 'down', { timeout: 30_000 });
  await expect(line).toContainText(`not running (looked at ports ${portA} where it was paired, and 5000-5100)`);
  await expect(line).toContainText(`at ${bystander.ready.apiUrl} is another gateway, which this browser is not paired with`);
  await keepScreenshot(popup, 'popup-gateway-not-running');
  await popup.close();
  await bystander.stop();

  // Back on another port (in the contract's range): found, and remembered from then on.
  const portB = await getPort({ port: portNumbers(5000, 5100), host: '127.0.0.1' });
  gateway = await gatewayAt(portB);
  ({ popup, line } = await connectionOf(context));
  await expect(line).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
  await expect(line).toContainText(`at http://127.0.0.1:${portB} (it moved from http://127.0.0.1:${portA})`);
  await keepScreenshot(popup, 'popup-found-moved-gateway');
  await popup.close();
  await gateway.stop();

  // Back on the first port (outside the range): found because it was paired there before, and
  // by a tab's own load before anyone opens the popup (its sync failed with "not reachable at
  // portB", a "!" on the badge, until the popup looked).
  gateway = await gatewayAt(portA);
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  await expect.poll(() => badgeText(browser, tabId), { timeout: 30_000 }).toMatch(/^[1-9]\d*$/);
  ({ popup, line } = await connectionOf(context));
  await expect(line).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
  await expect(line).toContainText(`at http://127.0.0.1:${portA}`);
  await popup.close();
  await gateway.stop();

  // Another gateway (another data dir) where this browser was paired: token rejected, in words.
  const otherDir = await mkdtemp(join(tmpdir(), 'aiplugs-pairing-other-'));
  cleanups.push(() => rm(otherDir, { recursive: true, force: true }));
  gateway = await gatewayAt(portA, otherDir);
  ({ popup, line } = await connectionOf(context));
  await expect(line).toHaveAttribute('data-state', 'rejected', { timeout: 30_000 });
  await expect(line).toContainText('refused this browser\'s pairing');
  await keepScreenshot(popup, 'popup-token-rejected');
  await popup.close();
  await gateway.stop();
});
