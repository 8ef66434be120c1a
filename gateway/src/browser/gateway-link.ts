import { resolveDataDir, type RuntimeInfo } from '../data/data-dir.js';
import { GatewayAlreadyRunningError } from '../data/data-dir-lock.js';
import { findRunningGateway, readToken } from '../data/running-gateway.js';
import { startGateway, type ReadyInfo, type StartGatewayOptions } from '../gateway.js';
import { signedFetch } from '../pairing/signed-fetch.js';

export { findRunningGateway, pingGateway, readToken, type HealthInfo } from '../data/running-gateway.js';

/** A gateway to talk to: attached to a running one, or started in this process for as long as needed. */
export interface GatewayLink {
  info: ReadyInfo;
  token: string;
  /** True when a gateway was already running (stop() then leaves it alone). */
  attached: boolean;
  /** Stops the gateway only if this link started it. */
  stop(): Promise<void>;
  /** For a gateway started here: resolves when it stops (also via `aiplugs stop` or the dashboard). */
  closed: Promise<void> | null;
}

export interface LinkOptions {
  dataDir?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** When no gateway runs: start one in-process (default) or fail. */
  start?: boolean;
  startOptions?: Omit<StartGatewayOptions, 'dataDir' | 'env'>;
}

export class GatewayNotRunningError extends Error {
  override name = 'GatewayNotRunningError';
}

/** Attaches to the gateway of a data dir, or starts one (the way `aiplugs browser` and the Playwright helper work). */
export async function attachOrStartGateway(options: LinkOptions = {}): Promise<GatewayLink> {
  const env = options.env ?? process.env;
  const dataDir = resolveDataDir(options.dataDir, env);
  const running = await findRunningGateway(dataDir);
  if (running) return attachedLink(running.runtime, running.token);
  if (options.start === false) throw new GatewayNotRunningError(`No gateway is running for ${dataDir}; start one with \`aiplugs start\``);
  try {
    const gateway = await startGateway({ ...options.startOptions, dataDir, env });
    gateway.warmUp(); // while the browser starts: its first HTTPS site then waits for no set-up
    return { info: gateway.info, token: gateway.token, attached: false, stop: () => gateway.stop(), closed: gateway.closed };
  } catch (error) {
    // Another process started one in between (the data dir's lock said so): use that one.
    const token = error instanceof GatewayAlreadyRunningError && error.answering ? await readToken(dataDir) : null;
    if (token && error instanceof GatewayAlreadyRunningError && error.runtime) return attachedLink(error.runtime, token);
    throw error;
  }
}

function attachedLink(runtime: RuntimeInfo, token: string): GatewayLink {
  const { pid: _pid, startedAt: _startedAt, ...info } = runtime;
  return { info, token, attached: true, stop: async () => undefined, closed: null };
}

/** Mints a one-time dashboard login link from a running gateway (token-protected call). */
export async function requestLoginUrl(apiUrl: string, token: string): Promise<string> {
  const response = await signedFetch(apiUrl, token, '/api/dashboard/login-link', { method: 'POST', timeoutMs: 5000 });
  if (!response.ok) throw new Error(`The gateway refused a login link (HTTP ${response.status})`);
  return ((await response.json()) as { url: string }).url;
}

/** A one-time pairing code for extension `extensionId`, which only that extension can redeem (`aiplugs browser` hands it over the DevTools pipe). */
export async function requestPairingCode(apiUrl: string, token: string, extensionId: string): Promise<string> {
  const response = await signedFetch(apiUrl, token, '/api/pairing/codes', { method: 'POST', json: { extension_id: extensionId }, timeoutMs: 5000 });
  if (!response.ok) throw new Error(`The gateway refused a pairing code (HTTP ${response.status})`);
  return ((await response.json()) as { code: string }).code;
}
