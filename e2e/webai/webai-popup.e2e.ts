import { expect, test } from '@playwright/test';
import { openPopup, tabIdOf } from '../extension/support/extension-browser.js';
import { gatewaySettings } from './webai-stack.js';
import { startPairedExtensionStack, type PairedExtensionStack } from '../extension/support/paired-stack.js';
import { goto } from '../support/navigate.js';

// The popup's Web AI switch: with an API set to the cloud (webai.cloud_apis), the tab's site can
// be allowed (and disallowed) to use cloud AI; the gateway's settings.webai_cloud_origins follow.

let stack: PairedExtensionStack;

test.describe.configure({ mode: 'serial', timeout: 120_000 });

test.beforeAll(async () => {
  stack = await startPairedExtensionStack({ proxied: true, env: { AIPLUGS_WEBAI_CLOUD_APIS: 'summarizer' } });
});

test.afterAll(async () => {
  await stack?.close();
});

test('the popup allows and disallows cloud AI for the tab site', async () => {
  const settings = () => gatewaySettings(stack.gateway);
  const page = await stack.browser.context.newPage();
  await goto(page, `${stack.site.origin}/spa/home`);
  const popup = await openPopup(stack.browser.context, await tabIdOf(stack.browser, page));
  const box = popup.getByTestId('webai-cloud-site');
  await expect(box).not.toBeChecked();
  await expect(popup.locator('#webai-cloud-row')).toContainText('summarizer');
  await box.check();
  await expect.poll(async () => (await settings()).webai_cloud_origins).toEqual([new URL(stack.site.origin).origin]);
  await box.uncheck();
  await expect.poll(async () => (await settings()).webai_cloud_origins).toEqual([]);
  await popup.close();
  await page.close();
});
