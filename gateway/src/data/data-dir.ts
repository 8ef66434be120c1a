import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import envPaths from 'env-paths';
import { z } from 'zod';
import { ConfigError } from '../config/load-config.js';
import { checkTrustedDirectory } from './trusted-directory.js';
import { writeFileAtomic } from './write-file-atomic.js';

/**
 * `--data-dir` > `AIPLUGS_DATA_DIR` > the per-user application data folder of this OS, absolute:
 * the ready line and runtime.json give its paths to tools running in other directories.
 */
export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return resolve(flag || env.AIPLUGS_DATA_DIR || envPaths('aiplugs', { suffix: '' }).data);
}

/**
 * Creates the data dir private to the user (0700): it holds the CA key and the API token.
 * With `ownOnly` (the gateway), a data dir that is not the user's own is refused before anything
 * in it is read: see assertOwnDataDir.
 */
export async function prepareDataDir(dataDir: string, options: { ownOnly?: boolean } = {}): Promise<void> {
  // Made (if absent) before the check, so a folder another account slips in meanwhile is checked too.
  await mkdir(dataDir, { recursive: true, mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
    // A file in the way, or one along the path: "EEXIST: file already exists, mkdir" said neither (helper-77).
    if (error.code === 'EEXIST' || error.code === 'ENOTDIR') throw new ConfigError(`data dir ${dataDir} is not a folder (a file is in the way); give --data-dir a folder`);
    throw error;
  });
  if (options.ownOnly) await assertOwnDataDir(dataDir);
  await mkdir(join(dataDir, 'logs'), { recursive: true, mode: 0o700 });
  await chmod(dataDir, 0o700);
}

/**
 * The gateway trusts its data dir's token, CA key and config (which names the interpreters it
 * runs), so a data dir another account made (in /tmp, say) would hand that account the user's
 * traffic and code execution: that account can plant those files and, as its owner, chmod it back
 * after we made it 0700. Refused unless it belongs to the user (not even to root, for a non-root
 * user: it could not be made private) and other accounts cannot write to it. Throws a ConfigError
 * (exit 3) that names the folder and what to do.
 *
 * Not required where root works on a user's data dir on purpose (`sudo aiplugs ca install --data-dir`).
 */
async function assertOwnDataDir(dataDir: string): Promise<void> {
  const reason = await checkTrustedDirectory(dataDir, { trustRoot: false });
  if (!reason) return;
  throw new ConfigError(
    `data dir ${dataDir} is ${reason}, so it is not used: another account could have put a token, CA or config in it, or read yours. ` +
      'Give --data-dir (or AIPLUGS_DATA_DIR) a folder of your own, e.g. a new one; or, if this one is yours, make it so (chown, chmod 700) and check what is in it',
  );
}

/**
 * `aiplugs ca install` makes the data dir's CA trusted (system-wide under sudo): a data dir another
 * account made or can write would have it trust that account's CA, which then reads all the user's
 * HTTPS. The folder must be the user's or root's; under sudo, "the user" is the one who ran sudo
 * (SUDO_UID: installing for a user's own data dir is what sudo is for here). A ConfigError (exit 3).
 */
export async function assertCaDataDir(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const sudoUid = Number(env.SUDO_UID);
  const user = process.getuid?.() === 0 && Number.isInteger(sudoUid) && env.SUDO_UID !== '' ? { uid: sudoUid, gid: Number(env.SUDO_GID) || sudoUid } : undefined;
  const reason = await checkTrustedDirectory(dataDir, { trustRoot: true, ...(user ? { user } : {}) });
  if (!reason) return;
  throw new ConfigError(
    `data dir ${dataDir} is ${reason}, so its CA is not trusted anywhere: another account could have put its own CA there, and would then read your HTTPS traffic. ` +
      'Give --data-dir the data dir of your own gateway',
  );
}

/** The API token: generated once per install, mode 0600, never injected into pages. */
export async function ensureApiToken(dataDir: string, onReplaced?: (reason: string) => void): Promise<string> {
  const path = join(dataDir, 'token');
  try {
    const token = (await readFile(path, 'utf8')).trim();
    if (/^[A-Za-z0-9_-]{32,}$/.test(token)) {
      await chmod(path, 0o600);
      return token;
    }
    // A file put there by hand (a harness seeding a token): replaced, and said so (helper-77).
    onReplaced?.(`${path} did not hold a token of 32 or more letters, digits, "_" or "-"; a new one was written there`);
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
