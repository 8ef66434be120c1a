/**
 * What a page's renderer can reach of the extension. The relay's content script runs in every
 * page's process, so a renderer exploit, or a bug in the relay, runs code in the relay's world
 * with its extension APIs. That world needs to send the page's own messages and nothing more: it
 * must not read the gateway token, nor make the background act as the popup (pair, pause, strip a
 * site's policy). Each test evaluates in the relay's isolated world through DevTools, as such code
 * would run there.
 */
import { expect, test, type Page } from '@playwright/test';
import { EXTENSION_ID, openPopup } from './support/extension-browser.js';
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
  await tab.close();
});

test("the relay's world finds no token even where storage.local is open to content scripts, as in Firefox", async () => {
  const worker = await stack.browser.worker();
  const token = await stack.gateway.token();
  // Firefox has no switch that closes storage.local to content scripts: open it here the same way.
  await worker.evaluate(() => chrome.storage.local.setAccessLevel({ accessLevel: 'TRUSTED_AND_UNTRUSTED_CONTEXTS' }));
  const tab = await open();
  try {
    const seen = String(await inRelayWorld(tab, `chrome.storage.local.get(null).then((all) => JSON.stringify(all), (error) => 'refused: ' + error.message)`));
    expect(seen).toContain('"settings"'); // it was read
    expect(seen).not.toContain(token);
    // The relay's IndexedDB is the page's, not the extension's, where the tokens are.
    const idb = String(await inRelayWorld(tab, `new Promise((resolve) => { const open = indexedDB.open('aiplugs'); open.onsuccess = () => resolve(JSON.stringify([...open.result.objectStoreNames])); open.onerror = () => resolve('error'); })`));
    expect(idb).toBe('[]');
  } finally {
    await worker.evaluate(() => chrome.storage.local.setAccessLevel({ accessLevel: 'TRUSTED_CONTEXTS' }));
    await tab.close();
  }
});

test('a token an earlier version left in storage.local moves out on the first read, and the pairing holds', async () => {
  const worker = await stack.browser.worker();
  const token = await stack.gateway.token();
  const stored = async () => JSON.stringify(await worker.evaluate(() => chrome.storage.local.get(null)));
  // As an earlier version wrote it: the tokens beside the other settings.
  await worker.evaluate(async (token) => {
    const { settings } = (await chrome.storage.local.get('settings')) as { settings: Record<string, unknown> };
    await chrome.storage.local.set({ settings: { ...settings, token, knownGateways: [{ address: settings.gatewayAddress, token }] } });
  }, token);
  expect(await stored()).toContain(token);
  const popup = await openPopup(stack.browser.context);
  await expect(popup.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  expect(await stored()).not.toContain(token);
  await popup.close();
});

test("the relay's world cannot make the background act as the popup", async () => {
  const tab = await open();
  const send = (message: Record<string, unknown>) => inRelayWorld(tab, `chrome.runtime.sendMessage(${JSON.stringify(message)}).then((reply) => JSON.stringify(reply ?? null), (error) => 'refused: ' + error.message)`);
  const attacks = [
    { type: 'set-csp-strip-site', site: 'bank.example', strip: true },
    { type: 'set-paused', paused: true },
    { type: 'set-proxy-routing', enabled: true },
    { type: 'get-connection' },
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
