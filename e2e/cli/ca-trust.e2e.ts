import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, expect, test } from '@playwright/test';
import { chromiumPath, QUIET_CHROMIUM_ARGS } from '../support/chromium.js';
import { startGatewayProcess, type GatewayChild } from '../support/gateway-process.js';
import { respond, startTestSite, type TestSite } from '../support/test-site.js';
import { skipUnlessInstalled, TOOLS } from '../../test/support/required-tools.js';
import { runCli } from './run-cli.js';
import { goto } from '../support/navigate.js';

// Every test spawns real Node and Chromium processes; a busy 2-core machine needs more than the default minute.
test.describe.configure({ timeout: 120_000 });

// The real thing on Linux: certutil writes a fresh HOME's NSS db, and Chromium started with that
// HOME and no SPKI flag trusts the gateway's certificates, until `ca uninstall` takes it away.
test.skip(process.platform !== 'linux', 'NSS trust is verified on Linux');

let gateway: GatewayChild;
let site: TestSite;
let home: string;

test.beforeAll(async () => {
  const missing = await skipUnlessInstalled(TOOLS.certutil);
  test.skip(missing !== false, `${missing}`);
  home = await mkdtemp(join(tmpdir(), 'aiplugs-home-'));
  site = await startTestSite({ '/': respond(200, { 'content-type': 'text/html' }, '<!doctype html><title>Trusted</title><h1>trusted</h1>') });
  gateway = await startGatewayProcess();
});

test.afterAll(async () => {
  await gateway?.stop();
  await site?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

/** Chromium with this HOME (so its NSS db), through the proxy, trusting nothing by flag. */
async function visit(url: string): Promise<{ ok: boolean; error?: string; title?: string }> {
  const browser = await chromium.launch({ executablePath: chromiumPath(), proxy: { server: gateway.ready.proxyUrl }, args: QUIET_CHROMIUM_ARGS, env: { ...process.env, HOME: home } });
  try {
    const page = await browser.newPage();
    const response = await goto(page, url);
    return { ok: response?.ok() ?? false, title: await page.title() };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  } finally {
    await browser.close();
  }
}

test('ca install into a fresh HOME lets Chromium load HTTPS through the proxy; uninstall takes it back', async () => {
  const env = { HOME: home };
  const args = ['--data-dir', gateway.dataDir];

  const before = await visit(`${site.origin}/`);
  expect(before.ok).toBe(false);
  expect(before.error).toContain('ERR_CERT_AUTHORITY_INVALID');

  const install = await runCli(['ca', 'install', '--yes', ...args], env);
  expect(install.stderr).toContain('aiplugs browser');
  expect(install.stdout).toContain(`added to nss: ${join(home, '.pki/nssdb')}`);
  expect(install.code).toBe(0);

  const status = JSON.parse((await runCli(['ca', 'status', '--json', ...args], env)).stdout);
  expect(status.trustedAnywhere).toBe(true);
  expect(status.stores.find((store: { id: string }) => store.id === 'nss').locations[0]).toMatchObject({ trusted: true, addedByAiplugs: true });

  expect(await visit(`${site.origin}/`)).toEqual({ ok: true, title: 'Trusted' });

  const uninstall = await runCli(['ca', 'uninstall', ...args], env);
  expect(uninstall.stdout).toContain(`removed from nss: ${join(home, '.pki/nssdb')}`);
  expect(uninstall.code).toBe(0);
  expect(JSON.parse((await runCli(['ca', 'status', '--json', ...args], env)).stdout).trustedAnywhere).toBe(false);

  const after = await visit(`${site.origin}/`);
  expect(after.error).toContain('ERR_CERT_AUTHORITY_INVALID');
});
