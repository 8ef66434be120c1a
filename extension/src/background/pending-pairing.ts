import browser from 'webextension-polyfill';
import { StorageKey } from '../common/protocol';
import { serialQueue } from './serial-queue';

/**
 * The one pairing offer waiting for the user's answer in the extension's confirmation tab. Kept in
 * `storage.session` (closed to content scripts in Chromium, gone with the browser): the service
 * worker may stop while the user reads the question.
 */
export interface PendingPairing {
  /** Names the offer in the confirmation tab's address; a reload of a decided offer finds nothing. */
  id: string;
  address: string;
  code: string;
  /** The page that offered the code, told the outcome. */
  tabId: number;
  documentId?: string | undefined;
  /** The confirmation tab, brought forward when the same offer comes again. */
  confirmTabId?: number | undefined;
  /** As long as the gateway honours the code (PAIRING_CODE_TTL_MS). */
  expiresAt: number;
}

export async function pendingPairing(now = Date.now()): Promise<PendingPairing | null> {
  const stored = (await browser.storage.session.get(StorageKey.pendingPairing))[StorageKey.pendingPairing] as PendingPairing | undefined;
  return stored && stored.expiresAt > now ? stored : null;
}

export async function holdPairing(offer: PendingPairing): Promise<void> {
  await browser.storage.session.set({ [StorageKey.pendingPairing]: offer });
}

/** The offer `id` names, taken out (an answer is given once), or null when it is decided, replaced or expired. */
export async function takePairing(id: string): Promise<PendingPairing | null> {
  const offer = await pendingPairing();
  if (!offer || offer.id !== id) return null;
  await browser.storage.session.remove(StorageKey.pendingPairing);
  return offer;
}

/** How long offers from an address are refused after the user declined one (or closed its tab unanswered): no asking again and again. */
export const DECLINED_PAUSE_MS = 2 * 60_000;

/** When the user last declined an offer from each address (only those within the pause are kept). */
async function declines(now: number): Promise<Record<string, number>> {
  const stored = ((await browser.storage.session.get(StorageKey.pairingDeclines))[StorageKey.pairingDeclines] as Record<string, number> | undefined) ?? {};
  return Object.fromEntries(Object.entries(stored).filter(([, at]) => now - at < DECLINED_PAUSE_MS));
}

export async function recordDecline(address: string, now = Date.now()): Promise<void> {
  await browser.storage.session.set({ [StorageKey.pairingDeclines]: { ...(await declines(now)), [address]: now } });
}

/** True while offers from `address` are paused after a decline. */
export async function recentlyDeclined(address: string, now = Date.now()): Promise<boolean> {
  return (await declines(now))[address] !== undefined;
}

/**
 * Runs offers and answers one at a time: each reads the waiting offer and then writes it, and two
 * offers sent at once would otherwise both find none waiting (two questions), or an answer and an
 * offer would interleave (an answered offer asked again).
 */
export const oneAtATime = serialQueue();
