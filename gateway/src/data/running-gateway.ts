import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { proofNonce, tokenProof } from '../pairing/token-proof.js';
import { readRuntimeInfo, type RuntimeInfo } from './data-dir.js';

// How the CLI, the data-dir lock and the browser launcher find the gateway of a data dir: its
// runtime.json, confirmed by the gateway's public health route and by its proof that it holds
// the data dir's token. A gateway killed outright leaves its runtime.json behind, and any local
// program may then listen on the ports it names and answer the health route as AiPlugs does:
// the token, sent there, would be its for good (it is made once per install).

export interface HealthInfo {
  status: string;
  name: string;
  version: string;
  apiPort: number;
  proxyPort: number;
  uptimeSeconds: number;
}

/** The most read of an answer from a server not yet proven to be the gateway (its answers are a few hundred bytes). */
const MAX_UNPROVEN_ANSWER_BYTES = 64 * 1024;

/**
 * The JSON of an answer, read to at most `MAX_UNPROVEN_ANSWER_BYTES`; null when it is longer or
 * not JSON. Whatever listens on a stale runtime.json's port could answer with gigabytes.
 */
async function readSmallJson(response: Response): Promise<unknown> {
  const reader = response.body?.getReader();
  if (!reader) return null;
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    size += read.value.byteLength;
    if (size > MAX_UNPROVEN_ANSWER_BYTES) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(read.value);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return null;
  }
}

/** Asks a gateway's public health route whether it is alive and really AiPlugs. */
export async function pingGateway(apiUrl: string, timeoutMs = 2000): Promise<HealthInfo | null> {
  try {
    const response = await fetch(`${apiUrl}/api/health`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return null;
    const body = (await readSmallJson(response)) as HealthInfo | null;
    return body?.name === 'aiplugs' ? body : null;
  } catch {
    return null;
  }
}

export async function readToken(dataDir: string): Promise<string | null> {
  return readFile(join(dataDir, 'token'), 'utf8').then((text) => text.trim(), () => null);
}

const ProofAnswer = z.object({ proof: z.string() });

/**
 * Whether the server at `apiUrl` holds `token`: it answers a fresh nonce with the token's proof
 * for that port (token-proof.ts, which the extension checks the same way), which a program that
 * does not hold the token can neither make nor relay from the real gateway.
 */
export async function holdsToken(apiUrl: string, apiPort: number, token: string, timeoutMs = 2000): Promise<boolean> {
  const nonce = proofNonce();
  try {
    const response = await fetch(`${apiUrl}/api/pairing/proof`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ nonce }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const answer = response.ok ? ProofAnswer.safeParse(await readSmallJson(response)) : null;
    return answer?.success === true && answer.data.proof === (await tokenProof(token, apiPort, nonce));
  } catch {
    return false;
  }
}

/** The gateway described by `runtime.json` if it answers and proves it holds the token, with the token; else null. */
export async function findRunningGateway(dataDir: string): Promise<{ runtime: RuntimeInfo; health: HealthInfo; token: string } | null> {
  const runtime = await readRuntimeInfo(dataDir);
  if (!runtime) return null;
  const health = await pingGateway(runtime.apiUrl);
  if (!health || health.apiPort !== runtime.apiPort) return null;
  const token = await readToken(dataDir);
  return token && (await holdsToken(runtime.apiUrl, runtime.apiPort, token)) ? { runtime, health, token } : null;
}
