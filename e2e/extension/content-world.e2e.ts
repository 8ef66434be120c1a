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
