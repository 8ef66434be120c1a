import browser from 'webextension-polyfill';
import { PAIRING_OFFER, PAIRING_RESULT, type PairingOffer, type PairingResult } from '../../../gateway/src/dashboard/page/pairing-messages';
import type { BackgroundFailure, BackgroundReplies, BackgroundRequest, PairingListenerMessage, PairingOutcome } from '../common/protocol';

/**
 * ISOLATED world, top frame of loopback pages: passes a gateway page's pairing offer (a one-time
 * code, `window.postMessage` to itself) to the background and answers in words: at once (refused,
 * or waiting for the user in the extension's confirmation tab), and again once the user answered
 * there. The background decides whether the page really is a gateway's; nothing secret ever goes
 * back to the page.
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

const tellPage = (outcome: PairingOutcome) =>
  window.postMessage({ type: PAIRING_RESULT, paired: outcome.state === 'paired', ...(outcome.state === 'confirm' ? { pending: true } : {}), message: outcome.message } satisfies PairingResult, location.origin);

export function startPairingListener(): void {
  window.addEventListener('message', (event) => {
    const offer = event.data as Partial<PairingOffer> | null;
    if (event.source !== window || event.origin !== location.origin || offer?.type !== PAIRING_OFFER) return;
    if (typeof offer.code !== 'string' || offer.code.length > 100) return;
    const request: BackgroundRequest = { type: 'pairing-offer', code: offer.code };
    sendWhenAwake(request).then(
      (reply) => tellPage('failure' in reply ? { state: 'failed', message: reply.failure.message } : reply),
      (error: unknown) => tellPage({ state: 'failed', message: `The AiPlugs extension did not answer: ${(error as Error).message}` }),
    );
  });
  // The user's answer in the confirmation tab, which the background sends this document.
  browser.runtime.onMessage.addListener((message: unknown) => {
    const decided = message as Partial<PairingListenerMessage> | null;
    if (decided?.type === 'pairing-decided' && decided.outcome) tellPage(decided.outcome);
  });
}
