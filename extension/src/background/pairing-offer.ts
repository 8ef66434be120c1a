import browser from 'webextension-polyfill';
import { PAIRING_CODE_TTL_MS } from '../../../gateway/src/dashboard/page/pairing-messages';
import { createGatewayClient, GatewayError, normalizeAddress } from '../common/gateway-client';
import type { PairingListenerMessage, PairingOutcome } from '../common/protocol';
import { loadSettings } from '../common/storage';
import { connectionStatus, rememberPairing } from './gateway-connection';
import { holdPairing, oneAtATime, type PendingPairing, pendingPairing, recentlyDeclined, recordDecline, takePairing } from './pending-pairing';

/** Where the pairing listener runs (its content script's matches). */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost']);

/** The gateway address a page on `pageUrl` could be: a plain-HTTP loopback origin, else null. */
export function loopbackOrigin(pageUrl: string | undefined): string | null {
  try {
    const url = new URL(pageUrl ?? '');
    // As any address is kept (127.0.0.1, where the gateway listens): a page on localhost may have come from [::1].
    return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname) && url.port !== '' ? normalizeAddress(url.host) : null;
  } catch {
    return null;
  }
}

class PairingRefused extends Error {
  override name = 'PairingRefused';
}

const failed = (error: unknown): PairingOutcome => ({ state: 'failed', message: error instanceof PairingRefused ? error.message : `Pairing failed: ${(error as Error).message}` });

/** `address` answers as an AiPlugs gateway on that very port, or this throws. */
async function requireGateway(address: string): Promise<void> {
  const health = await createGatewayClient({ address, token: null, timeoutMs: 5000 }).health(3000).catch(() => null);
  if (!health || String(health.apiPort) !== new URL(address).port) throw new PairingRefused(`${address} is not an AiPlugs gateway.`);
}

const opens = (address: string, token: string) => createGatewayClient({ address, token }).settings().then(() => true, () => false);

/**
 * Redeems `code` at `address` (the gateway gives the token only for this extension's Origin) and
 * pairs, if its API is guarded by that token (a 401 without it), which a page served by some other
 * local server cannot fake.
 */
async function redeemAndPair(address: string, code: string): Promise<PairingOutcome> {
  const anonymous = createGatewayClient({ address, token: null, timeoutMs: 5000 });
  let token: string;
  try {
    token = (await anonymous.redeemPairing(code)).token;
  } catch (error) {
    throw new PairingRefused(error instanceof GatewayError ? error.message : `The gateway at ${address} did not take the pairing code.`);
  }
  const guarded = await anonymous.settings().then(() => false, (error: unknown) => error instanceof GatewayError && error.status === 401);
  if (!guarded || !(await opens(address, token))) throw new PairingRefused(`${address} answered like a gateway but does not guard its API with the token it gave: not paired.`);
  await rememberPairing(address, token);
  return pairedOutcome();
}

/** The page that offered a code, and the document it was in (it may have navigated since). */
export interface OfferingPage {
  tabId: number;
  documentId?: string | undefined;
}

/** Brings a tab and its window forward; false when it is gone. */
async function bringForward(tabId: number): Promise<boolean> {
  try {
    const tab = await browser.tabs.update(tabId, { active: true });
    if (tab.windowId !== undefined) await browser.windows.update(tab.windowId, { focused: true }).catch(() => undefined);
    return true;
  } catch {
    return false;
  }
}

const FIREFOX_PAIRS_BY_HAND = 'In Firefox the extension pairs by hand: open "Pair by hand" below, copy the token, and paste it in the AiPlugs popup with this gateway\'s address.';

const tabExists = (tabId: number) => browser.tabs.get(tabId).then(() => true, () => false);

const pairedOutcome = async (): Promise<PairingOutcome> => ({ state: 'paired', message: (await connectionStatus()).message });

/** The address of the gateway this browser is paired with, while it runs and takes the token; else null. */
async function runningPairedAddress(): Promise<string | null> {
  const { gatewayAddress, token } = await loadSettings();
  return gatewayAddress && token && (await opens(gatewayAddress, token)) ? gatewayAddress : null;
}

/** Refuses, in words, while the gateway this browser is paired with runs and is not `address`. */
async function requireNoOtherRunningPairing(address: string): Promise<'paired-here' | 'free'> {
  const running = await runningPairedAddress();
  if (running === null) return 'free';
  if (running === address) return 'paired-here';
  throw new PairingRefused(`This browser is paired with the AiPlugs gateway at ${running}, which is running: to pair with ${address} instead, paste its token in the extension's popup.`);
}

/**
 * A page's offer of a one-time code. The page's address is its origin as the browser reports it
 * (never what the page says), and it must be on this machine and answer as an AiPlugs gateway on
 * that very port. Any server on loopback can act as a whole gateway, though (another account's,
 * one a website sent the tab to), so an offer pairs nothing by itself: it waits for the user's
 * answer in the extension's own tab (`pairing.html`, which no page can open or frame). While the
 * paired gateway runs, an offer from another is refused outright; one offer waits at a time; and
 * after the user declines one, that address's offers are refused for a while.
 */
export function offerPairing(pageUrl: string | undefined, code: string, from: OfferingPage): Promise<PairingOutcome> {
  return oneAtATime(async () => {
    try {
      // A code is bound to a Chromium extension id; Firefox's ids are random per install.
      if (browser.runtime.getURL('/').startsWith('moz-extension:')) throw new PairingRefused(FIREFOX_PAIRS_BY_HAND);
      const address = loopbackOrigin(pageUrl);
      if (!address) throw new PairingRefused('Pairing offers are taken only from an AiPlugs gateway\'s own pages on this machine.');
      await requireGateway(address);
      // Already paired with this gateway: nothing to ask.
      if ((await requireNoOtherRunningPairing(address)) === 'paired-here') return await pairedOutcome();
      if (await recentlyDeclined(address)) throw new PairingRefused(`Pairing with ${address} was declined in this browser a moment ago: try again in two minutes, or pair by hand in the extension's popup.`);
      const waiting = await pendingPairing();
      if (waiting?.confirmTabId !== undefined && (await tabExists(waiting.confirmTabId))) {
        // Its question comes forward for the page that asked it, never for another page's offer.
        if (waiting.tabId === from.tabId) await bringForward(waiting.confirmTabId);
        throw new PairingRefused(`Another pairing offer (from ${waiting.address}) waits for an answer in the AiPlugs tab: answer it there first.`);
      }
      const id = crypto.randomUUID();
      const offer = { id, address, code, ...from, expiresAt: Date.now() + PAIRING_CODE_TTL_MS };
      await holdPairing(offer);
      const tab = await browser.tabs.create({ url: `${browser.runtime.getURL('/pairing.html')}?offer=${id}`, active: true, openerTabId: from.tabId });
      await holdPairing({ ...offer, confirmTabId: tab.id });
      return { state: 'confirm', message: `Confirm in the AiPlugs tab that opened: it asks whether to pair with the gateway at ${address}.` };
    } catch (error) {
      return failed(error);
    }
  });
}

/** Tells the page that offered how it went: only its own document (Chromium), or a page of the same gateway still in that tab (Firefox names no document). */
async function tellOfferingPage(offer: PendingPairing, outcome: PairingOutcome): Promise<void> {
  if (!offer.documentId) {
    const tab = await browser.tabs.get(offer.tabId).catch(() => null);
    if (loopbackOrigin(tab?.url) !== offer.address) return;
  }
  const message: PairingListenerMessage = { type: 'pairing-decided', outcome };
  await browser.tabs.sendMessage(offer.tabId, message, { frameId: 0, ...(offer.documentId ? { documentId: offer.documentId } : {}) } as { frameId: number }).catch(() => undefined);
}

/** What the confirmation tab shows about the offer it names, or null when there is none to answer. */
export async function describePairing(id: string): Promise<{ address: string; expiresAt: number } | null> {
  const offer = await pendingPairing();
  return offer?.id === id ? { address: offer.address, expiresAt: offer.expiresAt } : null;
}

/** The user's answer in the confirmation tab: pairs (or not), and tells the page that offered. */
export function decidePairing(id: string, accept: boolean): Promise<PairingOutcome> {
  return oneAtATime(async () => {
    const offer = await takePairing(id);
    if (!offer) return { state: 'gone', message: 'This pairing offer was already answered, replaced, or has expired: press "Pair the extension" in the dashboard again.' };
    let outcome: PairingOutcome;
    if (!accept) {
      await recordDecline(offer.address);
      outcome = { state: 'declined', message: `Pairing with ${offer.address} was declined in the AiPlugs extension: nothing changed.` };
    } else {
      try {
        await requireGateway(offer.address);
        // The paired gateway may have started again while the question was open.
        await requireNoOtherRunningPairing(offer.address);
        outcome = await redeemAndPair(offer.address, offer.code);
      } catch (error) {
        outcome = failed(error);
      }
    }
    await tellOfferingPage(offer, outcome);
    if (outcome.state === 'paired') await bringForward(offer.tabId);
    return outcome;
  });
}

/**
 * `aiplugs browser`'s pairing, over the DevTools pipe only the process that started the browser
 * holds (gateway/src/browser/devtools-pipe.ts): no question to ask, and the gateway named is the
 * one the user launched the browser with, so it may replace another pairing.
 */
export async function pairFromLauncher(address: string, code: string): Promise<PairingOutcome> {
  try {
    const normalized = loopbackOrigin(`${address}/`);
    if (!normalized) throw new PairingRefused(`${address} is not a gateway address on this machine.`);
    await requireGateway(normalized);
    if ((await runningPairedAddress()) === normalized) return await pairedOutcome();
    return await redeemAndPair(normalized, code);
  } catch (error) {
    return failed(error);
  }
}
