import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readRuntimeInfo, resolveDataDir, type RuntimeInfo } from '../data/data-dir.js';
import { startGateway, type ReadyInfo, type StartGatewayOptions } from '../gateway.js';

export interface HealthInfo {
  status: string;
  name: string;
  version: string;
  apiPort: number;
  proxyPort: number;
  uptimeSeconds: number;
}

/** Asks a gateway's public health route whether it is alive and really AiPlugs. */
export async function pingGateway(apiUrl: string, timeoutMs = 2000): Promise<HealthInfo | null> {
  try {
    const response = await fetch(`${apiUrl}/api/health`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return null;
    const body = (await response.json()) as HealthInfo;
    return body.name === 'aiplugs' ? body : null;
  } catch {
    return null;
  }
}

export async function readToken(dataDir: string): Promise<string | null> {
  return readFile(join(dataDir, 'token'), 'utf8').then((text) => text.trim(), () => null);
}

/** The gateway described by `runtime.json` if it answers, with its token; else null. */
export async function findRunningGateway(dataDir: string): Promise<{ runtime: RuntimeInfo; health: HealthInfo; token: string } | null> {
  const runtime = await readRuntimeInfo(dataDir);
  if (!runtime) return null;
  const health = await pingGateway(runtime.apiUrl);
  if (!health || health.apiPort !== runtime.apiPort) return null;
  const token = await readToken(dataDir);
  return token ? { runtime, health, token } : null;
}

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
  if (running) {
    const { runtime } = running;
    const info: ReadyInfo = {
      apiUrl: runtime.apiUrl,
      apiPort: runtime.apiPort,
      proxyUrl: runtime.proxyUrl,
      proxyPort: runtime.proxyPort,
      caCertPath: runtime.caCertPath,
      caSpki: runtime.caSpki,
      dataDir: runtime.dataDir,
    };
    return { info, token: running.token, attached: true, stop: async () => undefined, closed: null };
  }
  if (options.start === false) throw new GatewayNotRunningError(`No gateway is running for ${dataDir}; start one with \`aiplugs start\``);
  const gateway = await startGateway({ ...options.startOptions, dataDir, env });
  return { info: gateway.info, token: gateway.token, attached: false, stop: () => gateway.stop(), closed: gateway.closed };
}

/** Mints a one-time dashboard login link from a running gateway (token-protected call). */
export async function requestLoginUrl(apiUrl: string, token: string): Promise<string> {
  const response = await fetch(`${apiUrl}/api/dashboard/login-link`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`The gateway refused a login link (HTTP ${response.status})`);
  return ((await response.json()) as { url: string }).url;
}
