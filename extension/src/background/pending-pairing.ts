import browser from 'webextension-polyfill';
import { StorageKey } from '../common/protocol';

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
  /** The gateway's codes live two minutes (gateway/src/pairing/pairing-codes.ts). */
  expiresAt: number;
}

/** As long as the gateway honours the code. */
export const PENDING_PAIRING_MS = 2 * 60_000;

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
