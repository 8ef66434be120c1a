import { expect, test } from '@playwright/test';
import { startGatewayProcess, type GatewayChild } from '../support/gateway-process.js';
import type { TestSite } from '../support/test-site.js';
import { FIXTURE_PLUGINS, launchWithExtension, openPopup, pairThroughPopup, tabIdOf, type ExtensionBrowser } from '../extension/support/extension-browser.js';
import { startExtensionSite } from '../extension/support/extension-site.js';
import { gatewaySettings } from './webai-stack.js';

// The popup's Web AI switch: with an API set to the cloud (webai.cloud_apis), the tab's site can
// be allowed (and disallowed) to use cloud AI; the gateway's settings.webai_cloud_origins follow.

let gateway: GatewayChild;
let site: TestSite;
let browser: ExtensionBrowser;

test.describe.configure({ mode: 'serial', timeout: 120_000 });

test.beforeAll(async () => {
  site = await startExtensionSite();
  gateway = await startGatewayProcess({ args: ['--plugins-dir', FIXTURE_PLUGINS], env: { AIPLUGS_WEBAI_CLOUD_APIS: 'summarizer' } });
  browser = await launchWithExtension({ proxyServer: gateway.ready.proxyUrl, caSpki: gateway.ready.caSpki });
  await pairThroughPopup(browser.context, gateway.ready.apiUrl, await gateway.token());
});

test.afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  await site?.close();
});

test('the popup allows and disallows cloud AI for the tab site', async () => {
  const settings = () => gatewaySettings(gateway);
  const page = await browser.context.newPage();
  await page.goto(`${site.origin}/spa/home`);
  const popup = await openPopup(browser.context, await tabIdOf(browser, page));
  const box = popup.getByTestId('webai-cloud-site');
  await expect(box).not.toBeChecked();
  await expect(popup.locator('#webai-cloud-row')).toContainText('summarizer');
  await box.check();
  await expect.poll(async () => (await settings()).webai_cloud_origins).toEqual([new URL(site.origin).origin]);
  await box.uncheck();
  await expect.poll(async () => (await settings()).webai_cloud_origins).toEqual([]);
  await popup.close();
  await page.close();
});
