import type { Stats } from 'node:fs';
import { lstat, realpath, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** What the rule reads of a folder: its owner and permission bits (a `Stats` fits). */
export interface OwnerAndMode {
  uid: number;
  gid: number;
  mode: number;
}

export interface TrustRule {
  /** The uid this process runs as. */
  userUid: number;
  /** Its primary group: with a group per user (Debian, Ubuntu), a folder it may share with no one. */
  userGid: number;
  /**
   * Whether root's folders are trusted too: yes for code and models (a global `npm install` puts
   * the example plugins under a root-owned prefix, and root can change anything anyway); no for a
   * data dir, which must be made private to the user (chmod 0700), and only its owner can.
   */
  trustRoot: boolean;
}

/**
 * Why a folder is not trusted with what the gateway reads from it and runs (its token and CA,
 * plugin code, model files), or null when it is: it must belong to the user (or root, if the rule
 * says so) and not be writable by other accounts. The text completes "<path> is …".
 *
 * Group-writable is allowed where the group is the user's own primary group (or root's, where root
 * is trusted): Debian and Ubuntu give each user a group of their own and umask 002, so every folder
 * they make (every git clone) is group-writable, with no one else in that group. A shared group's
 * (`users`, `staff`) members are other accounts.
 *
 * @example
 *   distrustReason({ uid: 12345, gid: 12345, mode: 0o40755 }, { userUid: 1000, userGid: 1000, trustRoot: true }); // 'owned by another account (uid 12345)'
 */
export function distrustReason(stats: OwnerAndMode, rule: TrustRule): string | null {
  const ownedByTrusted = stats.uid === rule.userUid || (rule.trustRoot && stats.uid === 0);
  if (!ownedByTrusted) return `owned by another account (uid ${stats.uid})`;
  const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
  if (stats.mode & 0o002) return `writable by other accounts (mode ${mode})`;
  const ownGroup = stats.gid === rule.userGid || (rule.trustRoot && stats.gid === 0);
  if (stats.mode & 0o020 && !ownGroup) return `writable by the members of group ${stats.gid} (mode ${mode})`;
  return null;
}

/**
 * Why a folder above a trusted one lets another account swap that one (rename it away and put its
 * own in its place), or null: it must be the user's or root's (`/`, `/home`), and one that others
 * may write must be sticky (`/tmp`), where only an entry's owner may rename or remove it.
 *
 * @example
 *   ancestorDistrustReason({ uid: 0, gid: 0, mode: 0o41777 }, rule); // null: /tmp
 *   ancestorDistrustReason({ uid: 0, gid: 0, mode: 0o40777 }, rule); // 'writable by other accounts (mode 0777)'
 */
export function ancestorDistrustReason(stats: OwnerAndMode, rule: TrustRule): string | null {
  const rootTrusted = { ...rule, trustRoot: true };
  if (stats.mode & 0o1000) return distrustReason({ ...stats, mode: stats.mode & ~0o022 }, rootTrusted);
  return distrustReason(stats, rootTrusted);
}

/**
 * `distrustReason` for the folder at `path` as it is now, and for the symlink at `path` if it is one:
 * its owner could point it elsewhere at any time, so it must be the user's or root's (who can change
 * anything anyway); its own mode, always 0777 on Linux, means nothing. Null on platforms without
 * uids (Windows), where these modes do not apply. `user` judges for another account than this
 * process's (root working for the user who ran sudo). Rejects as `lstat`/`stat` do (ENOENT when there
 * is nothing there).
 *
 * @example
 *   const reason = await checkTrustedDirectory(modelsDir, { trustRoot: true });
 *   if (reason) throw new ConfigError(`models_dir ${modelsDir} is ${reason}; …`);
 */
export async function checkTrustedDirectory(path: string, options: { trustRoot: boolean; user?: { uid: number; gid: number } }): Promise<string | null> {
  const userUid = options.user?.uid ?? process.getuid?.();
  if (userUid === undefined) return null;
  const rule = { userUid, userGid: options.user?.gid ?? process.getgid?.() ?? userUid, trustRoot: options.trustRoot };
  const link = await lstat(path);
  const linkReason = symlinkDistrust(link, rule);
  if (linkReason) return linkReason;
  return distrustReason(link.isSymbolicLink() ? await stat(path) : link, rule) ?? (await untrustedAncestor(path, rule));
}

/**
 * The first folder above `path` that `ancestorDistrustReason` refuses, as "inside <it>, which is
 * <why>", or null. Both chains count: the folders the path names (whoever can write one of them
 * can replace what comes next, a symlink included) and those it resolves to.
 */
async function untrustedAncestor(path: string, rule: TrustRule): Promise<string | null> {
  const named = resolve(path);
  const chains = [ancestors(named), ancestors(await realpath(named))];
  for (const folder of new Set(chains.flat())) {
    const link = await lstat(folder);
    const reason = symlinkDistrust(link, rule) ?? ancestorDistrustReason(link.isSymbolicLink() ? await stat(folder) : link, rule);
    if (reason) return `inside ${folder}, which is ${reason}`;
  }
  return null;
}

/**
 * Why a symlink is not to be followed, or null (also when `link` is no symlink): its owner could
 * point it elsewhere at any time, so it must be the user's or root's; its mode means nothing.
 */
function symlinkDistrust(link: Stats, rule: TrustRule): string | null {
  if (!link.isSymbolicLink()) return null;
  const reason = distrustReason({ uid: link.uid, gid: link.gid, mode: 0 }, { ...rule, trustRoot: true });
  return reason && `a symlink ${reason}`;
}

/** The folders above an absolute path, nearest first, up to the root. */
function ancestors(path: string): string[] {
  const above: string[] = [];
  for (let folder = dirname(path); ; folder = dirname(folder)) {
    above.push(folder);
    if (folder === dirname(folder)) return above;
  }
}
