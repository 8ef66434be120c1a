import browser from 'webextension-polyfill';
import { createGatewayClient, discoverGateway, GatewayError, normalizeAddress, rangeAddresses, type GatewayClient } from '../common/gateway-client';
import type { GatewayHealth } from '../common/gateway-answers';
import type { ConnectionStatus, ExtensionSettings } from '../common/protocol';
import { loadSettings, saveSettings } from '../common/storage';
import { proofNonce, tokenProof } from '../../../gateway/src/pairing/token-proof';
import { applyProxyRouting } from './proxy-routing';

/** How many paired gateways are remembered (each is one address to probe when the current one is gone). */
const MAX_KNOWN_GATEWAYS = 8;

/** A client for the stored address and token, or null before an address is known. */
export function clientFor(settings: ExtensionSettings): GatewayClient | null {
  return settings.gatewayAddress ? createGatewayClient({ address: settings.gatewayAddress, token: settings.token }) : null;
}

export async function currentClient(): Promise<GatewayClient | null> {
  return clientFor(await loadSettings());
}

/** Makes `address` + `token` the current pairing and remembers it, most recent first. */
export async function rememberPairing(address: string, token: string): Promise<ExtensionSettings> {
  const { knownGateways } = await loadSettings();
  const known = [{ address, token }, ...knownGateways.filter((entry) => entry.address !== address)].slice(0, MAX_KNOWN_GATEWAYS);
  return saveSettings({ gatewayAddress: address, token, knownGateways: known });
}

/** Every token this browser was given, the current pairing's first. */
export function rememberedTokens(settings: ExtensionSettings): string[] {
  return [...new Set([settings.token, ...settings.knownGateways.map((entry) => entry.token)].filter((token): token is string => Boolean(token)))];
}

/**
 * Which of `tokens` the server at `address` proves it holds (pairing/token-proof.ts): no token
 * leaves the extension for a server that has not proved it is the gateway that issued it, since
 * anything on this machine can answer on a gateway port once the gateway is gone. `unproven`: it
 * answered, with no valid proof (or is a gateway too old to give one); `error`: it did not answer.
 */
export async function provenToken(address: string, tokens: string[]): Promise<{ token: string } | 'unproven' | 'error'> {
  const nonce = proofNonce();
  let proof: string;
  try {
    proof = await createGatewayClient({ address, token: null, timeoutMs: 3000 }).tokenProof(nonce);
  } catch (error) {
    return error instanceof GatewayError && error.status >= 400 && error.status < 500 ? 'unproven' : 'error';
  }
  const port = Number(new URL(address).port || 80);
  for (const token of tokens) if ((await tokenProof(token, port, nonce)) === proof) return { token };
  return 'unproven';
}

type TokenVerdict = 'yes' | 'no' | 'error' | 'other-version';

/**
 * Whether the gateway at `address`, which proved it holds `token`, takes it: `yes`, `no` (401),
 * `other-version` (it answers in a shape this extension does not know), or `error` (anything else).
 */
async function acceptsToken(address: string, token: string): Promise<TokenVerdict> {
  try {
    await createGatewayClient({ address, token, timeoutMs: 3000 }).settings();
    return 'yes';
  } catch (error) {
    if (!(error instanceof GatewayError)) return 'error';
    return error.status === 401 ? 'no' : error.code === 'unexpected_answer' ? 'other-version' : 'error';
  }
}

/** `acceptsToken`, asked only of a server that first proved it holds the token. */
async function tokenVerdict(address: string, token: string): Promise<TokenVerdict> {
  const proven = await provenToken(address, [token]);
  return typeof proven === 'object' ? acceptsToken(address, token) : proven === 'unproven' ? 'no' : 'error';
}

/**
 * Whether this browser's requests go through an AiPlugs proxy: the proxy answers `/__aiplugs/…`
 * on any host, even one that does not exist; without it the name does not resolve.
 */
async function proxyInUse(): Promise<boolean> {
  try {
    const response = await fetch('http://proxy-check.aiplugs.invalid/__aiplugs/proxy-check', { cache: 'no-store', credentials: 'omit', signal: AbortSignal.timeout(2000) });
    const body = (await response.json().catch(() => null)) as { error?: unknown } | null;
    return body !== null && typeof body === 'object' && 'error' in body;
  } catch {
    return false;
  }
}

/** The PAC script points at the proxy port: keep it current. */
async function keepProxyPort(health: GatewayHealth, settings: ExtensionSettings): Promise<void> {
  if (health.proxyPort === settings.proxyPort) return;
  await applyProxyRouting(await saveSettings({ proxyPort: health.proxyPort }));
}

const portsText = (addresses: string[]) => addresses.map((address) => new URL(address).port).join(', ');

async function connected(address: string, health: GatewayHealth, movedFrom: string | null): Promise<ConnectionStatus> {
  const settings = await loadSettings();
  const gatewaySettings = await createGatewayClient({ address, token: settings.token }).settings();
  const where = movedFrom ? `at ${address} (it moved from ${movedFrom})` : `at ${address}`;
  const proxy = (await proxyInUse())
    ? 'Pages come through its proxy.'
    : 'This browser does not go through its proxy, so the extension injects plugins itself: turn on "Route this browser through the gateway proxy" below, or open a browser with "npx aiplugs browser".';
  return {
    state: 'connected',
    address,
    version: health.version,
    apiPort: health.apiPort,
    proxyPort: health.proxyPort,
    paused: gatewaySettings.paused,
    message: `Paired with AiPlugs ${health.version} ${where}. ${proxy}`,
  };
}

/**
 * Looks for a gateway this browser can use elsewhere: where it was paired before, then the
 * contract's port range; the first that takes one of the remembered tokens becomes current.
 */
async function relocate(settings: ExtensionSettings, except: string | null) {
  const tokens = rememberedTokens(settings);
  const remembered = settings.knownGateways.map((entry) => entry.address);
  const candidates = [...remembered, ...rangeAddresses()].filter((address) => address !== except);
  let accepted: { address: string; token: string; health: GatewayHealth } | null = null;
  const found = await discoverGateway(candidates, async (address, health) => {
    const proven = await provenToken(address, tokens);
    if (typeof proven !== 'object' || (await acceptsToken(address, proven.token)) !== 'yes') return false;
    accepted = { address, token: proven.token, health };
    return true;
  });
  return { accepted: accepted as { address: string; token: string; health: GatewayHealth } | null, seen: found.seen, remembered };
}

/**
 * Where the extension stands with the gateway, in words a user can act on: not running, running
 * but not paired, paired, token rejected (and, once paired, whether the proxy is in use). A
 * gateway that moved to another port is found where this browser was paired before, or on the
 * contract's API ports.
 */
export async function connectionStatus(): Promise<ConnectionStatus> {
  const settings = await loadSettings();
  const current = settings.gatewayAddress;
  const health = current ? await createGatewayClient({ address: current, token: null }).health(3000).catch(() => null) : null;
  if (current && health) {
    if (!settings.token) {
      return { state: 'unpaired', address: current, version: health.version, message: `AiPlugs ${health.version} runs at ${current}, but this browser is not paired with it: press "Pair the extension" in its dashboard, or open a browser with "npx aiplugs browser".` };
    }
    const verdict = await tokenVerdict(current, settings.token);
    // Only a gateway that proved it holds the token may move the browser's proxy routing.
    if (verdict === 'yes') {
      await keepProxyPort(health, settings);
      return connected(current, health, null);
    }
    if (verdict === 'error') return { state: 'down', address: current, message: `The gateway at ${current} answered with an error; see its log (or the dashboard).` };
    if (verdict === 'other-version') {
      const mine = browser.runtime.getManifest().version;
      return { state: 'down', address: current, message: `AiPlugs ${health.version} at ${current} answers in a way this extension (${mine}) does not know: update whichever of the two is older.` };
    }
  }
  const { accepted, seen, remembered } = await relocate(settings, current && health ? current : null);
  if (accepted) {
    await keepProxyPort(accepted.health, await rememberPairing(accepted.address, accepted.token));
    return connected(accepted.address, accepted.health, current);
  }
  if (current && health) {
    return { state: 'rejected', address: current, version: health.version, message: `The gateway at ${current} refused this browser's pairing (its token changed, or it is another gateway's data dir). Pair again: "Pair the extension" in its dashboard.` };
  }
  const other = seen[0];
  const looked = remembered.length > 0 ? `ports ${portsText(remembered)} where it was paired, and 5000-5100` : 'ports 5000-5100';
  // A paired browser whose gateway is down is told so, not pointed at whichever other gateway answers (another account's, say).
  if (current && settings.token) {
    const besides = other ? ` (AiPlugs ${other.health.version} at ${other.address} is another gateway, which this browser is not paired with.)` : '';
    return { state: 'down', address: current, message: `The AiPlugs gateway is not running (looked at ${looked}). Start it with "npx aiplugs start"; this browser stays paired and finds it again.${besides}` };
  }
  if (other) {
    return { state: 'unpaired', address: other.address, version: other.health.version, message: `AiPlugs ${other.health.version} runs at ${other.address}, but this browser is not paired with it: press "Pair the extension" in its dashboard, or open a browser with "npx aiplugs browser".` };
  }
  if (!current) {
    return { state: 'unconfigured', message: 'No AiPlugs gateway found on this machine (looked at ports 5000-5100). Start it with "npx aiplugs start", then press "Pair the extension" in its dashboard (it may run on another port).' };
  }
  return { state: 'down', address: current, message: `The AiPlugs gateway is not running (looked at ${looked}). Start it with "npx aiplugs start"; this browser stays paired and finds it again.` };
}

/**
 * Nothing answered where the gateway was, or something that is not it (no AiPlugs error code: a
 * proxy's error page where this browser reaches loopback through one, another program).
 */
export const notTheGateway = (error: unknown) => error instanceof GatewayError && (error.code === 'gateway_down' || error.code.startsWith('http_'));

/** How long one search for a moved gateway answers every tab's sync: a search probes the whole port range. */
const LOOK_AGAIN_MS = 10_000;
let lastLook: { at: number; client: Promise<GatewayClient | null> } | null = null;

/** The client of the gateway this browser is paired with, if it answers now somewhere other than `from`. */
export function relocatedClient(from: string | null): Promise<GatewayClient | null> {
  if (lastLook && Date.now() - lastLook.at < LOOK_AGAIN_MS) return lastLook.client;
  const client = connectionStatus().then(
    async (status) => (status.state === 'connected' && status.address !== from ? clientFor(await loadSettings()) : null),
    () => null,
  );
  lastLook = { at: Date.now(), client };
  return client;
}

/** Stores what the user typed (address normalized) and reports how the gateway took it. */
export async function pair(addressInput: string, token: string): Promise<ConnectionStatus> {
  const address = normalizeAddress(addressInput);
  if (!address) return { state: 'unconfigured', message: `"${addressInput}" is not a gateway address; try http://127.0.0.1:5000.` };
  const trimmed = token.trim();
  if (trimmed && (await tokenVerdict(address, trimmed)) === 'yes') await rememberPairing(address, trimmed);
  else await saveSettings({ gatewayAddress: address, token: trimmed || null });
  return connectionStatus();
}
