import { LAUNCHER_PAIRING_FUNCTION } from '../../../gateway/src/dashboard/page/pairing-messages';
import type { PairingOutcome } from '../common/protocol';
import { afterOffer } from './message-handlers';
import { pairFromLauncher } from './pairing-offer';

/**
 * Lets `aiplugs browser` pair the extension it loaded: it calls this function in the service
 * worker over the browser's DevTools pipe (gateway/src/browser/devtools-pipe.ts). Only code in
 * this worker, or a DevTools client of the browser, can reach a global of the worker.
 */
export function listenForLauncherPairing(): void {
  const pair = async (address: unknown, code: unknown): Promise<PairingOutcome> => {
    if (typeof address !== 'string' || typeof code !== 'string' || address.length > 2048 || code.length > 200) return { state: 'failed', message: 'Pairing needs a gateway address and a one-time code.' };
    return afterOffer(await pairFromLauncher(address, code));
  };
  Object.assign(globalThis, { [LAUNCHER_PAIRING_FUNCTION]: pair });
}
