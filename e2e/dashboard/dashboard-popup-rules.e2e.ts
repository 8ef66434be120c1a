import { expect, test } from '@playwright/test';
import { runCli } from '../cli/run-cli.js';
import { openPopup, tabIdOf } from '../extension/support/extension-browser.js';
import { startPairedExtensionStack, type PairedExtensionStack } from '../extension/support/paired-stack.js';
import { goto } from '../support/navigate.js';

// The per-plugin site rules are one set: a rule the extension's popup makes shows in the dashboard,
// and one the dashboard removes is gone from the popup. Real extension, real gateway, real Chromium.
test.describe.configure({ timeout: 120_000 });

let stack: PairedExtensionStack;

test.beforeAll(async () => {
  stack = await startPairedExtensionStack();
});

test.afterAll(async () => {
  await stack?.close();
});

test('a site rule made in the popup shows in the dashboard live, and one removed there is gone for the popup after a reload', async () => {
  const page = await stack.browser.context.newPage();
  await goto(page, `${stack.site.origin}/plain`);
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  const tabId = await tabIdOf(stack.browser, page);

  const dashboard = await stack.browser.context.newPage();
  await goto(dashboard, (await runCli(['dashboard', '--data-dir', stack.gateway.dataDir])).stdout.trim());
  await expect(dashboard.locator('body')).toHaveAttribute('data-ready', 'true');
  const row = dashboard.locator('tr[data-plugin="marker-start"]');
  await expect(row.locator('.chips')).toHaveText('runs on every matching site');

  const popup = await openPopup(stack.browser.context, tabId);
  await expect(popup.getByTestId('toggle-marker-start')).toBeChecked();
  await popup.getByTestId('toggle-marker-start').uncheck();
  // Live: the dashboard redraws on the settings event, no reload.
  await expect(row.locator('.chips')).toContainText('localhost');
  await popup.close();

  await row.getByRole('button', { name: 'Remove localhost from marker-start' }).click();
  await expect(row.locator('.chips')).toHaveText('runs on every matching site');
  await expect
    .poll(async () => {
      const response = await fetch(`${stack.gateway.ready.apiUrl}/api/settings`, { headers: { authorization: `Bearer ${await stack.gateway.token()}` } });
      return ((await response.json()) as { plugin_disabled_sites: Record<string, string[]> }).plugin_disabled_sites['marker-start'];
    })
    .toEqual([]);
  // The extension reads the settings when a tab loads (background/tab-sync.ts): reload, then its popup agrees.
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  const again = await openPopup(stack.browser.context, tabId);
  await expect(again.getByTestId('toggle-marker-start')).toBeChecked();
  await again.close();
  await dashboard.close();
  await page.close();
});
