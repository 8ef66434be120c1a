/**
 * What a page's renderer can reach of the extension. The relay's content script runs in every
 * page's process, so a renderer exploit, or a bug in the relay, runs code in the relay's world
 * with its extension APIs. That world needs to send the page's own messages and nothing more: it
 * must not read the gateway token, nor make the background act as the popup (pair, pause, strip a
 * site's policy). Each test evaluates in the relay's isolated world through DevTools, as such code
 * would run there.
 */
import { expect, test, type Page } from '@playwright/test';
import { EXTENSION_ID, openPopup, tabIdOf } from './support/extension-browser.js';
import { startPairedExtensionStack, type PairedExtensionStack } from './support/paired-stack.js';
import { goto } from '../support/navigate.js';

let stack: PairedExtensionStack;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  stack = await startPairedExtensionStack();
});

test.afterAll(async () => {
  await stack?.close();
});

/** Evaluates `expression` (awaited) in the extension's isolated world of `tab`'s top frame. */
async function inRelayWorld(tab: Page, expression: string): Promise<unknown> {
  const cdp = await tab.context().newCDPSession(tab);
  const contexts: Array<{ id: number; origin: string; auxData?: { type?: string; isDefault?: boolean } }> = [];
  cdp.on('Runtime.executionContextCreated', ({ context }) => contexts.push(context));
  await cdp.send('Runtime.enable'); // reports the contexts that already exist
  await expect.poll(() => contexts.some((context) => context.auxData?.type === 'isolated' && context.origin.includes(EXTENSION_ID))).toBe(true);
  const world = contexts.find((context) => context.auxData?.type === 'isolated' && context.origin.includes(EXTENSION_ID))!;
  const { result, exceptionDetails } = await cdp.send('Runtime.evaluate', { expression, contextId: world.id, awaitPromise: true, returnByValue: true });
  await cdp.detach();
  if (exceptionDetails) return { thrown: exceptionDetails.exception?.description ?? exceptionDetails.text };
  return result.value as unknown;
}

async function open(): Promise<Page> {
  const tab = await stack.browser.context.newPage();
  await goto(tab, `${stack.site.origin}/plain`);
  return tab;
}

test("the relay's world cannot read the gateway token", async () => {
  const tab = await open();
  const token = await stack.gateway.token();
  const seen = await inRelayWorld(tab, `chrome.storage.local.get(null).then((all) => JSON.stringify(all), (error) => 'refused: ' + error.message)`);
  expect(String(seen)).not.toContain(token);
  expect(String(seen)).toMatch(/^refused: /);
  // Nor the session area, where a pairing offer waits for the user's answer.
  expect(String(await inRelayWorld(tab, `chrome.storage.session.get(null).then((all) => JSON.stringify(all), (error) => 'refused: ' + error.message)`))).toMatch(/^refused: /);
  await tab.close();
});

test("the relay's world cannot make the background act as the popup", async () => {
  const tab = await open();
  const send = (message: Record<string, unknown>) => inRelayWorld(tab, `chrome.runtime.sendMessage(${JSON.stringify(message)}).then((reply) => JSON.stringify(reply ?? null), (error) => 'refused: ' + error.message)`);
  const attacks = [
    { type: 'set-csp-strip-site', site: 'bank.example', strip: true },
    { type: 'set-paused', paused: true },
    { type: 'set-proxy-routing', enabled: true },
    { type: 'get-connection' },
    // Answering a pairing question (the renderer cannot read the waiting offer's id either: below).
    { type: 'pairing-decide', offer: 'any', accept: true },
    { type: 'pairing-pending', offer: 'any' },
  ];
  for (const attack of attacks) expect(String(await send(attack))).toContain('not_allowed');
  // Nothing changed, as the popup shows it.
  const popup = await openPopup(stack.browser.context);
  await expect(popup.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  const settings = await popup.evaluate(() => chrome.storage.local.get('settings'));
  expect(settings).toMatchObject({ settings: { cspStripSites: [], proxyRouting: false } });
  expect(await (await fetch(`${stack.gateway.ready.apiUrl}/api/settings`, { headers: { authorization: `Bearer ${await stack.gateway.token()}` } })).json()).toMatchObject({ paused: false });
  // A malformed message of a type the page may send is refused too, before any handler reads it.
  expect(String(await send({ type: 'page-navigated', url: { toString: 1 } }))).toContain('invalid_message');
  await popup.close();
  await tab.close();
});

/** A plugin that matches only `/spa/b` (on any site), on another site than the tab's: the extension site by its IP. */
const otherSite = () => stack.site.origin.replace('localhost', '127.0.0.1');
const spaBRuns = (tab: Page) => tab.evaluate(() => document.documentElement.getAttribute('data-run-spa-b'));

test("the relay's world cannot get another site's plugins into its page by naming that site's URL", async () => {
  const tab = await open();
  await expect.poll(() => tab.evaluate(() => document.documentElement.getAttribute('data-run-marker-start'))).toBe('1');
  const send = (message: Record<string, unknown>) => inRelayWorld(tab, `chrome.runtime.sendMessage(${JSON.stringify(message)}).then(() => 'sent', (error) => 'refused: ' + error.message)`);
  expect(await send({ type: 'page-loaded', url: `${otherSite()}/spa/b`, restored: false })).toBe('sent');
  expect(await send({ type: 'page-navigated', url: `${otherSite()}/spa/b` })).toBe('sent');
  // The background handles a tab's messages in order: once it has recorded the page's next
  // navigation (a real one, which its hook reports), it is past those.
  const control = `${stack.site.origin}/plain?after-the-claims`;
  await tab.evaluate((url) => history.pushState({}, '', url), control);
  const worker = await stack.browser.worker();
  const tabId = await tabIdOf(stack.browser, tab);
  await expect.poll(() => worker.evaluate(async (id) => ((await chrome.storage.session.get(`tab:${id}`))[`tab:${id}`] as { url?: string; injection?: string } | undefined), tabId)).toMatchObject({ url: control, injection: 'extension' });
  expect(await spaBRuns(tab)).toBeNull();
  expect(await tab.evaluate(() => (window as { __e2e?: { runs: Array<{ id: string }> } }).__e2e?.runs.map((run) => run.id))).toEqual(['marker-start']);
  await tab.close();
});

test("a call the background meant for one site's document does nothing in a document of another site (Chromium can run it in the tab's next document)", async () => {
  const tab = await open();
  await expect.poll(() => tab.evaluate(() => document.documentElement.getAttribute('data-run-marker-start'))).toBe('1');
  // The plan the background would bring to a page of the other site at /spa/b, code included.
  const planUrl = `${otherSite()}/spa/b`;
  const answer = await fetch(`${stack.gateway.ready.apiUrl}/api/inject?url=${encodeURIComponent(planUrl)}`, { headers: { authorization: `Bearer ${await stack.gateway.token()}` } });
  const plan = (await answer.json()) as { runtime: string; bridge: string | null; plugins: Array<{ id: string }> };
  expect(plan.plugins.map((plugin) => plugin.id)).toContain('spa-b');
  // The extension's page function itself, loaded as the extension's build loads it (its module's
  // imports are the extension's, which this project's compiler settings do not resolve).
  const pageInjection = '../../extension/src/background/page-injection.ts';
  const { applyPlanInPage } = (await import(pageInjection)) as { applyPlanInPage: (input: unknown) => unknown };
  const input = { origin: new URL(planUrl).origin, runtime: plan.runtime, plan: { url: planUrl, bridge: plan.bridge, retry: false, plugins: plan.plugins }, force: false };
  // The hostile page has replaced what it can of the check: every URL it parses is on its own origin.
  await tab.evaluate(() => {
    (window as unknown as { URL: unknown }).URL = class {
      origin = location.origin;
    };
  });
  expect(await tab.evaluate(applyPlanInPage, input)).toEqual({ outcome: 'none', elsewhere: true });
  expect(await spaBRuns(tab)).toBeNull();
  // The tab's own plugins were not stopped for the other site's plan either.
  expect(await tab.evaluate(() => document.documentElement.getAttribute('data-stop-marker-start'))).toBeNull();
  await tab.close();
});
