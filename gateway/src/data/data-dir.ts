import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import envPaths from 'env-paths';
import { z } from 'zod';
import { writeFileAtomic } from './write-file-atomic.js';

/**
 * `--data-dir` > `AIPLUGS_DATA_DIR` > the per-user application data folder of this OS, absolute:
 * the ready line and runtime.json give its paths to tools running in other directories.
 */
export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return resolve(flag || env.AIPLUGS_DATA_DIR || envPaths('aiplugs', { suffix: '' }).data);
}

/** Creates the data dir private to the user (0700): it holds the CA key and the API token. */
export async function prepareDataDir(dataDir: string): Promise<void> {
  await mkdir(join(dataDir, 'logs'), { recursive: true, mode: 0o700 });
  await chmod(dataDir, 0o700);
}

/** The API token: generated once per install, mode 0600, never injected into pages. */
export async function ensureApiToken(dataDir: string): Promise<string> {
  const path = join(dataDir, 'token');
  try {
    const token = (await readFile(path, 'utf8')).trim();
    if (/^[A-Za-z0-9_-]{32,}$/.test(token)) {
      await chmod(path, 0o600);
      return token;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const token = randomBytes(32).toString('base64url');
  await writeFileAtomic(path, `${token}\n`, 0o600);
  return token;
}

export const runtimeInfoSchema = z.object({
  pid: z.number().int(),
  apiUrl: z.string(),
  apiPort: z.number().int(),
  proxyUrl: z.string(),
  proxyPort: z.number().int(),
  caCertPath: z.string(),
  caSpki: z.string(),
  dataDir: z.string(),
  startedAt: z.string(),
});
export type RuntimeInfo = z.infer<typeof runtimeInfoSchema>;

export const runtimeFile = (dataDir: string) => join(dataDir, 'runtime.json');

/** `runtime.json` lets the CLI and the extension find a running gateway. */
export async function writeRuntimeInfo(dataDir: string, info: RuntimeInfo): Promise<void> {
  await writeFileAtomic(runtimeFile(dataDir), `${JSON.stringify(info, null, 2)}\n`, 0o600);
}

export async function readRuntimeInfo(dataDir: string): Promise<RuntimeInfo | null> {
  try {
    return runtimeInfoSchema.parse(JSON.parse(await readFile(runtimeFile(dataDir), 'utf8')));
  } catch {
    return null;
  }
}

/** Removes `runtime.json` only if it still describes this process (another gateway may have started). */
export async function clearRuntimeInfo(dataDir: string, pid: number): Promise<void> {
  const current = await readRuntimeInfo(dataDir);
  if (current?.pid === pid) await rm(runtimeFile(dataDir), { force: true });
}
