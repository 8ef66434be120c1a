import { PAIRING_OFFER, PAIRING_RESULT, type PairingResult } from './pairing-messages.js';

/**
 * Hands a one-time pairing code to the AiPlugs extension's content script on this page (same
 * window, same origin) and waits for its answer; null when no extension answered in time.
 */
export function offerToExtension(code: string, timeoutMs = 8000): Promise<PairingResult | null> {
  return new Promise((resolve) => {
    const onMessage = (event: MessageEvent) => {
      const data = event.data as Partial<PairingResult> | null;
      if (event.source !== window || event.origin !== location.origin || data?.type !== PAIRING_RESULT) return;
      finish({ type: PAIRING_RESULT, paired: data.paired === true, message: String(data.message ?? '') });
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    const finish = (result: PairingResult | null) => {
      clearTimeout(timer);
      window.removeEventListener('message', onMessage);
      resolve(result);
    };
    window.addEventListener('message', onMessage);
    window.postMessage({ type: PAIRING_OFFER, code }, location.origin);
  });
}
