/**
 * The two `window.postMessage` shapes between a gateway page (dashboard, `/pair`) and the AiPlugs
 * extension's content script on it. Shared with extension/src/injected/pairing-listener.ts.
 * Only a one-time code crosses the page, never the token: the extension redeems the code itself,
 * and the gateway honours it only from the extension's own Origin.
 */
export const PAIRING_OFFER = 'aiplugs:pairing-offer';
export const PAIRING_RESULT = 'aiplugs:pairing-result';

/** Page → extension: "redeem this code at my origin". */
export interface PairingOffer {
  type: typeof PAIRING_OFFER;
  code: string;
}

/** Extension → page: how it went, in words (never a secret). */
export interface PairingResult {
  type: typeof PAIRING_RESULT;
  paired: boolean;
  message: string;
}
