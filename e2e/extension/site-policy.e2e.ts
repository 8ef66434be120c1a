import { expect, test, type Page } from '@playwright/test';
import { keepScreenshot, openPopup, tabIdOf } from './support/extension-browser.js';
import { STRICT_POLICY } from './support/extension-site.js';
import { allowUserScripts, expectPolicyInForce, framedBy, runtimeSample, siteInlineScriptRan } from './support/site-policy.js';
import { startPairedExtensionStack, type PairedExtensionStack } from './support/paired-stack.js';
import { goto } from '../support/navigate.js';

/**
 * The extension keeps sites safe: with its default settings and no proxy, a site's
 * Content-Security-Policy and X-Frame-Options reach the page untouched. Plugins still run where
 * the browser offers a CSP-proof route (chrome.userScripts); where it does not, the popup says
 * the policy blocked them and removes it only for the site the user chooses.
 */

type E2EWindow = Window & { __e2e?: { runs: Array<{ id: string }> }; AiPlugs: { transport: string } };

let stack: PairedExtensionStack;
/** The same test site under another host name: another origin, another site for the rules. */
let otherOrigin: string;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  stack = await startPairedExtensionStack();
  otherOrigin = `https://127.0.0.1:${stack.site.port}`;
});

test.afterAll(async () => {
  await stack?.close();
});

const runsOf = (page: Page, id: string) => page.evaluate((wanted) => ((window as unknown as E2EWindow).__e2e?.runs ?? []).filter((run) => run.id === wanted).length, id);
const ruleCount = async () => (await stack.browser.worker()).evaluate(() => chrome.declarativeNetRequest.getDynamicRules().then((rules) => rules.length));

test('default settings keep the policy and X-Frame-Options; stripping is asked for, and only for that site', async () => {
  const page = await stack.browser.context.newPage();
  await goto(page, `${stack.site.origin}/strict`);
  await expect(page.locator('h1')).toHaveText('strict');
  // No CSP-proof route in this browser profile ("Allow User Scripts" is off): the popup asks.
  const tabId = await tabIdOf(stack.browser, page);
  const popup = await openPopup(stack.browser.context, tabId);
  await expect(popup.getByTestId('injection')).toHaveAttribute('data-state', 'failed');
  await expect(popup.getByTestId('injection')).toContainText("blocked by the site's policy");
  await expect(popup.getByTestId('injection')).toContainText('Allow User Scripts');
  expect(await runsOf(page, 'marker-start')).toBe(0);
  // The fallback's inline runtime was refused: the policy did its job.
  await expectPolicyInForce(page, { policy: STRICT_POLICY, alsoBlocked: [runtimeSample()] });
  expect(await ruleCount()).toBe(0);
  expect(await framedBy(stack.browser.context, otherOrigin, `${stack.site.origin}/strict`)).toBe(false);
  await expect(popup.getByTestId('retry')).toHaveText('Allow stripping for localhost');
  await keepScreenshot(popup, 'popup-blocked-by-site-policy');

  await popup.getByTestId('retry').click(); // the user's choice, for this site: a reload without its CSP
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  await expect(popup.getByTestId('injection')).toHaveAttribute('data-state', 'extension');
  await expect(popup.getByTestId('csp-strip-site')).toBeChecked();
  expect(await siteInlineScriptRan(page)).toBe(true); // what the user allowed
  await keepScreenshot(popup, 'popup-site-policy-stripped');
  // …and nothing more: X-Frame-Options stays, and another site keeps its policy.
  expect(await framedBy(stack.browser.context, otherOrigin, `${stack.site.origin}/strict`)).toBe(false);
  const other = await stack.browser.context.newPage();
  await goto(other, `${otherOrigin}/strict`);
  await expectPolicyInForce(other, { policy: STRICT_POLICY, alsoBlocked: [runtimeSample()] });
  await other.close();

  // A load without plugins needs no stripping: the site's policy holds for it. And with no proxy
  // in this tab's path, nothing on its requests tells the site that AiPlugs is there.
  const seen = stack.site.requests.length;
  await popup.getByTestId('reload-without').click();
  await expect(popup.getByTestId('injection')).toHaveAttribute('data-state', 'suppressed');
  await expectPolicyInForce(page, { policy: STRICT_POLICY });
  expect(await runsOf(page, 'marker-start')).toBe(0);
  const reloaded = stack.site.requests.slice(seen);
  expect(reloaded.map(({ path }) => path)).toContain('/strict');
  expect(reloaded.filter(({ headers }) => Object.keys(headers).some((name) => name.startsWith('x-aiplugs')))).toEqual([]);
  expect(await (await stack.browser.worker()).evaluate(() => chrome.declarativeNetRequest.getSessionRules().then((rules) => rules.length))).toBe(0);
  await page.reload(); // …and only that load
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1');

  // Taking the choice back restores the policy.
  await popup.getByTestId('csp-strip-site').uncheck();
  await expect.poll(ruleCount).toBe(0);
  await page.reload();
  await expectPolicyInForce(page, { policy: STRICT_POLICY, alsoBlocked: [runtimeSample()] });
  await popup.close();
  await page.close();
});

test('with "Allow User Scripts" plugins run under the site\'s intact policy (header or meta), SPA navigation included', async () => {
  await allowUserScripts(stack.browser.context);
  const page = await stack.browser.context.newPage();
  await goto(page, `${stack.site.origin}/strict`);
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  expect(await page.evaluate(() => (window as unknown as E2EWindow).AiPlugs.transport)).toBe('extension');
  await expectPolicyInForce(page, { policy: STRICT_POLICY });
  expect(await runsOf(page, 'marker-start')).toBe(1);
  expect(await ruleCount()).toBe(0);
  expect(await framedBy(stack.browser.context, otherOrigin, `${stack.site.origin}/strict`)).toBe(false);
  const tabId = await tabIdOf(stack.browser, page);
  const popup = await openPopup(stack.browser.context, tabId);
  await expect(popup.getByTestId('injection')).toHaveAttribute('data-state', 'extension');
  await expect(popup.locator('li[data-plugin="marker-start"]')).toHaveAttribute('data-state', 'running');
  await expect(popup.getByTestId('csp-strip-site')).toBeHidden();
  await popup.close();

  // A policy in a <meta> tag, out of any header rule's reach, is no obstacle either.
  await goto(page, `${stack.site.origin}/strict-meta`);
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  await expectPolicyInForce(page, { policy: STRICT_POLICY });

  await goto(page, `${stack.site.origin}/spa/home?strict`);
  await expect(page.locator('html')).toHaveAttribute('data-run-marker-start', '1');
  await page.click('#to-a');
  await expect(page.locator('html')).toHaveAttribute('data-run-spa-a', '1');
  await page.click('#to-b');
  await expect(page.locator('html')).toHaveAttribute('data-run-spa-b', '1');
  await expect(page.locator('html')).toHaveAttribute('data-stop-spa-a', '1');
  await expectPolicyInForce(page, { policy: STRICT_POLICY });
  await page.close();
});
