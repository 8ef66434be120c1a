import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { REPO_ROOT } from '../support/gateway-process.js';
import { dockSummary } from '../support/page-dock.js';
import { keepScreenshot, openPopup, tabIdOf } from './support/extension-browser.js';
import { startPairedExtensionStack, type PairedExtensionStack } from './support/paired-stack.js';
import { goto } from '../support/navigate.js';

/**
 * The page dock with the extension: the popup lists each plugin's dock menu commands for the tab
 * and runs them in the page (what userscript managers offer with GM_registerMenuCommand), and
 * "Pause all" takes every plugin's dock entries away (echo's badge included) until resumed.
 */

let pluginsDir: string;
let stack: PairedExtensionStack;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  pluginsDir = await mkdtemp(join(tmpdir(), 'aiplugs-e2e-dock-ext-'));
  await cp(join(REPO_ROOT, 'plugins/echo'), join(pluginsDir, 'echo'), { recursive: true });
  await cp(join(REPO_ROOT, 'e2e/extension/fixtures/dock-plugins/menu-demo'), join(pluginsDir, 'menu-demo'), { recursive: true });
  stack = await startPairedExtensionStack({ pluginsDir, proxied: true });
});

test.afterAll(async () => {
  await stack?.close();
  await rm(pluginsDir, { recursive: true, force: true });
});

const ECHO_AND_MENU = ['badge echo: Plain page', 'menu-toggle ⋯', 'collapse ›'];

test("the popup lists the tab's menu commands and runs the one clicked in the page", async () => {
  const page = await stack.browser.context.newPage();
  await goto(page, `${stack.site.origin}/plain`);
  await expect.poll(() => dockSummary(page)).toEqual(ECHO_AND_MENU);
  const popup = await openPopup(stack.browser.context, await tabIdOf(stack.browser, page));
  const commands = popup.getByTestId('menu-command');
  await expect(commands).toHaveText(['Mark the page', 'Count <b>twice</b>']); // labels as text
  await expect(commands.first()).toHaveAttribute('data-plugin', 'menu-demo');
  await expect(popup.getByTestId('menu-commands')).toContainText('Menu demo');
  await keepScreenshot(popup, 'popup-menu-commands');

  await commands.filter({ hasText: 'Mark the page' }).click();
  await expect(page.locator('html')).toHaveAttribute('data-menu-demo-mark', '1');
  await commands.filter({ hasText: 'twice' }).click();
  await expect(page.locator('html')).toHaveAttribute('data-menu-demo-twice', '2');
  await expect(page.locator('html')).toHaveAttribute('data-menu-demo-mark', '1');
  await popup.close();
  await page.close();
});

test('"Pause all" removes every dock entry (echo\'s badge too) and the popup\'s commands; resuming brings them back', async () => {
  const page = await stack.browser.context.newPage();
  await goto(page, `${stack.site.origin}/plain`);
  await expect.poll(() => dockSummary(page)).toEqual(ECHO_AND_MENU);
  const popup = await openPopup(stack.browser.context, await tabIdOf(stack.browser, page));
  await expect(popup.getByTestId('menu-command')).toHaveCount(2);

  await popup.getByTestId('paused').check();
  await expect.poll(() => dockSummary(page)).toEqual([]);
  await expect(page.locator('aiplugs-dock')).toHaveCount(0);
  await expect(popup.getByTestId('menu-commands')).toBeHidden();
  await keepScreenshot(page, 'page-dock-paused');

  await popup.getByTestId('paused').uncheck();
  await expect.poll(() => dockSummary(page)).toEqual(ECHO_AND_MENU);
  await expect(popup.getByTestId('menu-command')).toHaveCount(2);
  await popup.close();
  await page.close();
});
