import { PAIRING_OFFER, PAIRING_RESULT, type PairingResult } from './pairing-messages.js';

/** The next result the AiPlugs extension's content script posts to this page (same window, same origin); null after `timeoutMs`. */
export function nextPairingResult(timeoutMs: number): Promise<PairingResult | null> {
  return new Promise((resolve) => {
    const onMessage = (event: MessageEvent) => {
      const data = event.data as Partial<PairingResult> | null;
      if (event.source !== window || event.origin !== location.origin || data?.type !== PAIRING_RESULT) return;
      finish({ type: PAIRING_RESULT, paired: data.paired === true, pending: data.pending === true, message: String(data.message ?? '') });
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    const finish = (result: PairingResult | null) => {
      clearTimeout(timer);
      window.removeEventListener('message', onMessage);
      resolve(result);
    };
    window.addEventListener('message', onMessage);
  });
}

/** Hands a one-time pairing code to the extension's content script on this page; its first answer, or null when none came in time. */
export function offerToExtension(code: string, timeoutMs = 8000): Promise<PairingResult | null> {
  const answer = nextPairingResult(timeoutMs);
  window.postMessage({ type: PAIRING_OFFER, code }, location.origin);
  return answer;
}
