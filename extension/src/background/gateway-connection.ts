import { createGatewayClient, GatewayError, normalizeAddress, type GatewayClient } from '../common/gateway-client';
import type { ConnectionStatus, ExtensionSettings } from '../common/protocol';
import { loadSettings, saveSettings } from '../common/storage';
import { applyProxyRouting } from './proxy-routing';

/** A client for the stored address and token, or null before an address is known. */
export function clientFor(settings: ExtensionSettings): GatewayClient | null {
  return settings.gatewayAddress ? createGatewayClient({ address: settings.gatewayAddress, token: settings.token }) : null;
}

export async function currentClient(): Promise<GatewayClient | null> {
  return clientFor(await loadSettings());
}

/**
 * Where the extension stands with the gateway, in words a user can act on. Also keeps the
 * stored proxy port current (the PAC script points at it).
 */
export async function connectionStatus(): Promise<ConnectionStatus> {
  const settings = await loadSettings();
  const client = clientFor(settings);
  if (!client || !settings.gatewayAddress) {
    return { state: 'unconfigured', message: 'No gateway yet: press "Find" to look for it on this machine, or type its address.' };
  }
  const address = settings.gatewayAddress;
  let health;
  try {
    health = await client.health(3000);
  } catch (error) {
    return { state: 'down', address, message: `The AiPlugs gateway is not running at ${address}. Start it with "npx aiplugs start", then reopen this popup.` };
  }
  if (health.proxyPort !== settings.proxyPort) {
    const updated = await saveSettings({ proxyPort: health.proxyPort });
    await applyProxyRouting(updated);
  }
  if (!settings.token) {
    return { state: 'unpaired', address, version: health.version, message: 'Found the gateway. Paste its API token (aiplugs status, or the dashboard) and press "Pair".' };
  }
  try {
    const gatewaySettings = await client.settings();
    return {
      state: 'connected',
      address,
      version: health.version,
      apiPort: health.apiPort,
      proxyPort: health.proxyPort,
      paused: gatewaySettings.paused,
      message: `Connected to AiPlugs ${health.version} at ${address}.`,
    };
  } catch (error) {
    if (error instanceof GatewayError && error.status === 401) {
      return { state: 'unpaired', address, version: health.version, message: 'The gateway refused the token. Paste the current one from "aiplugs status" and press "Pair".' };
    }
    return { state: 'down', address, message: `The gateway at ${address} answered with an error: ${(error as Error).message}` };
  }
}

/** Stores what the user typed (address normalized) and reports how the gateway took it. */
export async function pair(addressInput: string, token: string): Promise<ConnectionStatus> {
  const address = normalizeAddress(addressInput);
  if (!address) return { state: 'unconfigured', message: `"${addressInput}" is not a gateway address; try http://127.0.0.1:5000.` };
  await saveSettings({ gatewayAddress: address, token: token.trim() || null });
  return connectionStatus();
}
