import { expect, test } from '@playwright/test';
import { runCli } from '../cli/run-cli.js';
import { FIXTURE_PLUGINS, launchWithExtension, openPopup, pairThroughPopup, tabIdOf, type ExtensionBrowser } from '../extension/support/extension-browser.js';
import { startExtensionSite } from '../extension/support/extension-site.js';
import { startGatewayProcess, type GatewayChild } from '../support/gateway-process.js';
import type { TestSite } from '../support/test-site.js';

// The per-plugin site rules are one set: a rule the extension's popup makes shows in the dashboard,
// and one the dashboard removes is gone from the popup. Real extension, real gateway, real Chromium.
test.describe.configure({ timeout: 120_000 });

let gateway: GatewayChild;
let site: TestSite;
let browser: ExtensionBrowser;

test.beforeAll(async () => {
  site = await startExtensionSite();
  gateway = await startGatewayProcess({ args: ['--plugins-dir', FIXTURE_PLUGINS] });
  browser = await launchWithExtension();
  await pairThroughPopup(browser.context, gateway.ready.apiUrl, await gateway.token());
});

test.afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  await site?.close();
});

test('a site rule made in the popup shows in the dashboard live, and one removed there is gone for the popup after a reload', async () => {
  const page = await browser.context.newPage();
  await page.goto(`${site.origin}/plain`);
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  const tabId = await tabIdOf(browser, page);

  const dashboard = await browser.context.newPage();
  await dashboard.goto((await runCli(['dashboard', '--data-dir', gateway.dataDir])).stdout.trim());
  await expect(dashboard.locator('body')).toHaveAttribute('data-ready', 'true');
  const row = dashboard.locator('tr[data-plugin="marker-start"]');
  await expect(row.locator('.chips')).toHaveText('runs on every matching site');

  const popup = await openPopup(browser.context, tabId);
  await expect(popup.getByTestId('toggle-marker-start')).toBeChecked();
  await popup.getByTestId('toggle-marker-start').uncheck();
  // Live: the dashboard redraws on the settings event, no reload.
  await expect(row.locator('.chips')).toContainText('localhost');
  await popup.close();

  await row.getByRole('button', { name: 'Remove localhost from marker-start' }).click();
  await expect(row.locator('.chips')).toHaveText('runs on every matching site');
  await expect
    .poll(async () => {
      const response = await fetch(`${gateway.ready.apiUrl}/api/settings`, { headers: { authorization: `Bearer ${await gateway.token()}` } });
      return ((await response.json()) as { plugin_disabled_sites: Record<string, string[]> }).plugin_disabled_sites['marker-start'];
    })
    .toEqual([]);
  // The extension reads the settings when a tab loads (background/tab-sync.ts): reload, then its popup agrees.
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  const again = await openPopup(browser.context, tabId);
  await expect(again.getByTestId('toggle-marker-start')).toBeChecked();
  await again.close();
  await dashboard.close();
  await page.close();
});
