import { createGatewayClient, GatewayError, normalizeAddress } from '../common/gateway-client';
import type { ConnectionStatus } from '../common/protocol';
import { loadSettings } from '../common/storage';
import { connectionStatus, rememberPairing } from './gateway-connection';

/** Where the pairing listener runs (its content script's matches). */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost']);

/** The gateway address a page on `pageUrl` could be: a plain-HTTP loopback origin, else null. */
export function loopbackOrigin(pageUrl: string | undefined): string | null {
  try {
    const url = new URL(pageUrl ?? '');
    // As any address is kept (127.0.0.1, where the gateway listens): a page on localhost may have come from [::1].
    return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname) && url.port !== '' ? normalizeAddress(url.host) : null;
  } catch {
    return null;
  }
}

class PairingRefused extends Error {
  override name = 'PairingRefused';
}

/**
 * Takes a one-time pairing code offered by a page, and pairs with the gateway that page came
 * from: the address is the page's origin as the browser reports it (never what the page says),
 * it must be on this machine, answer as an AiPlugs gateway on that very port, give the token for
 * the code (which it does only for this extension's Origin), and guard its API with that token
 * (a 401 without it), which a page served by some other local server cannot fake. A server that
 * fakes a whole gateway can, so an offer never replaces a paired gateway that is running.
 */
export async function acceptPairingOffer(pageUrl: string | undefined, code: string): Promise<ConnectionStatus> {
  const address = loopbackOrigin(pageUrl);
  if (!address) throw new PairingRefused('Pairing offers are taken only from an AiPlugs gateway\'s own pages on this machine.');
  const anonymous = createGatewayClient({ address, token: null, timeoutMs: 5000 });
  const health = await anonymous.health(3000).catch(() => null);
  if (!health || String(health.apiPort) !== new URL(address).port) throw new PairingRefused(`${address} is not an AiPlugs gateway.`);
  const settings = await loadSettings();
  if (settings.gatewayAddress === address && settings.token && (await createGatewayClient({ address, token: settings.token }).settings().then(() => true, () => false))) {
    // Already paired with this gateway (a second `aiplugs browser` in the same profile): nothing to redeem.
    return connectionStatus();
  }
  if (settings.gatewayAddress && settings.gatewayAddress !== address && settings.token && (await createGatewayClient({ address: settings.gatewayAddress, token: settings.token }).settings().then(() => true, () => false))) {
    // Any server on loopback can act as a whole gateway (another account's, one a website sent the
    // tab to): while the paired one runs, a page's offer does not take the extension from it.
    throw new PairingRefused(`This browser is paired with the AiPlugs gateway at ${settings.gatewayAddress}, which is running: to pair with ${address} instead, paste its token in the extension's popup.`);
  }
  let token: string;
  try {
    token = (await anonymous.redeemPairing(code)).token;
  } catch (error) {
    throw new PairingRefused(error instanceof GatewayError ? error.message : `The gateway at ${address} did not take the pairing code.`);
  }
  const guarded = await anonymous.settings().then(() => false, (error: unknown) => error instanceof GatewayError && error.status === 401);
  const opened = await createGatewayClient({ address, token }).settings().then(() => true, () => false);
  if (!guarded || !opened) throw new PairingRefused(`${address} answered like a gateway but does not guard its API with the token it gave: not paired.`);
  await rememberPairing(address, token);
  return connectionStatus();
}
