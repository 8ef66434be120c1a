/**
 * What crosses between the gateway's side and the AiPlugs extension when they pair, shared with
 * the extension (extension/src/injected/pairing-listener.ts, background/pairing-offer.ts).
 * Only a one-time code crosses a page, never the token: the extension redeems the code itself,
 * and the gateway honours it only from the extension's own Origin.
 */
export const PAIRING_OFFER = 'aiplugs:pairing-offer';

/** How long a one-time code lives unredeemed; the extension holds a page's offer that long, and the dashboard waits for its answer a little longer. */
export const PAIRING_CODE_TTL_MS = 120_000;
export const PAIRING_RESULT = 'aiplugs:pairing-result';

/** Page → extension (`window.postMessage` on the dashboard): "redeem this code at my origin". */
export interface PairingOffer {
  type: typeof PAIRING_OFFER;
  code: string;
}

/**
 * Extension → page: how it went, in words (never a secret). `pending`: the extension asks the
 * user first, in a tab of its own; a second result, without `pending`, follows their answer.
 */
export interface PairingResult {
  type: typeof PAIRING_RESULT;
  paired: boolean;
  pending?: boolean;
  message: string;
}

/**
 * The function `aiplugs browser` calls in the extension's service worker over the browser's
 * DevTools pipe, which only the process that started the browser holds:
 * `(address, code) => Promise<{paired, message}>`. A page's offer needs the user's click; this
 * needs none, since nothing else can make that call.
 */
export const LAUNCHER_PAIRING_FUNCTION = 'aiplugsLauncherPairing';
