import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readRuntimeInfo, type RuntimeInfo } from './data-dir.js';

// How the CLI, the data-dir lock and the browser launcher find the gateway of a data dir: its
// runtime.json, confirmed by the gateway's public health route.

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
