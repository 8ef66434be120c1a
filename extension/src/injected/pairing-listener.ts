import browser from 'webextension-polyfill';
import { PAIRING_OFFER, PAIRING_RESULT, type PairingOffer, type PairingResult } from '../../../gateway/src/dashboard/page/pairing-messages';
import type { BackgroundFailure, BackgroundReplies, BackgroundRequest } from '../common/protocol';

/**
 * ISOLATED world, top frame of loopback pages: passes a gateway page's pairing offer (a one-time
 * code, `window.postMessage` to itself) to the background and answers in words. The background
 * decides whether the page really is a gateway's; nothing secret ever goes back to the page.
 */
/** Right after the browser starts, the background may not listen yet: a few tries, half a second apart. */
async function sendWhenAwake(request: BackgroundRequest, tries = 10): Promise<BackgroundReplies['pairing-offer'] | BackgroundFailure> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return (await browser.runtime.sendMessage(request)) as BackgroundReplies['pairing-offer'] | BackgroundFailure;
    } catch (error) {
      if (attempt >= tries) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

export function startPairingListener(): void {
  window.addEventListener('message', (event) => {
    const offer = event.data as Partial<PairingOffer> | null;
    if (event.source !== window || event.origin !== location.origin || offer?.type !== PAIRING_OFFER) return;
    if (typeof offer.code !== 'string' || offer.code.length > 100) return;
    const answer = (paired: boolean, message: string) => window.postMessage({ type: PAIRING_RESULT, paired, message } satisfies PairingResult, location.origin);
    const request: BackgroundRequest = { type: 'pairing-offer', code: offer.code };
    sendWhenAwake(request).then(
      (reply) => ('failure' in reply ? answer(false, reply.failure.message) : answer(reply.state === 'connected', reply.message)),
      (error: unknown) => answer(false, `The AiPlugs extension did not answer: ${(error as Error).message}`),
    );
  });
}
