import browser from 'webextension-polyfill';
import { PAIRING_OFFER, PAIRING_RESULT, type PairingOffer, type PairingResult } from '../../../gateway/src/dashboard/page/pairing-messages';
import type { BackgroundFailure, BackgroundReplies, BackgroundRequest } from '../common/protocol';

/**
 * ISOLATED world, top frame of loopback pages: passes a gateway page's pairing offer (a one-time
 * code, `window.postMessage` to itself) to the background and answers in words. The background
 * decides whether the page really is a gateway's; nothing secret ever goes back to the page.
 */
export function startPairingListener(): void {
  window.addEventListener('message', (event) => {
    const offer = event.data as Partial<PairingOffer> | null;
    if (event.source !== window || event.origin !== location.origin || offer?.type !== PAIRING_OFFER) return;
    if (typeof offer.code !== 'string' || offer.code.length > 100) return;
    const answer = (paired: boolean, message: string) => window.postMessage({ type: PAIRING_RESULT, paired, message } satisfies PairingResult, location.origin);
    const request: BackgroundRequest = { type: 'pairing-offer', code: offer.code };
    (browser.runtime.sendMessage(request) as Promise<BackgroundReplies['pairing-offer'] | BackgroundFailure>).then(
      (reply) => ('failure' in reply ? answer(false, reply.failure.message) : answer(reply.state === 'connected', reply.state === 'connected' ? `The AiPlugs extension is paired with this gateway. ${reply.message}` : reply.message)),
      (error: unknown) => answer(false, `The AiPlugs extension did not answer: ${(error as Error).message}`),
    );
  });
}
