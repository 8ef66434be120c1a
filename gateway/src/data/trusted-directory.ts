import { readFileSync, type Stats } from 'node:fs';
import { lstat, readlink, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

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
 * may write must be sticky (`/tmp`), where only an entry's owner may rename or remove it, or be
 * writable only by a group whose members could become root anyway (`rootEquivalentGroup`).
 *
 * @example
 *   ancestorDistrustReason({ uid: 0, gid: 0, mode: 0o41777 }, rule); // null: /tmp
 *   ancestorDistrustReason({ uid: 0, gid: 0, mode: 0o40777 }, rule); // 'writable by other accounts (mode 0777)'
 */
export function ancestorDistrustReason(stats: OwnerAndMode, rule: TrustRule, groupIsRootEquivalent = rootEquivalentGroup): string | null {
  const rootTrusted = { ...rule, trustRoot: true };
  const sticky = (stats.mode & 0o1000) !== 0;
  const onlyRootLikeGroupWrites = (stats.mode & 0o002) === 0 && groupIsRootEquivalent(stats.gid);
  // Then only the owner counts (its message names no mode).
  return distrustReason(sticky || onlyRootLikeGroupWrites ? { ...stats, mode: stats.mode & ~0o022 } : stats, rootTrusted);
}

let rootEquivalentGids: Set<number> | undefined;

/**
 * Groups whose members can make themselves root anyway, so a folder above ours that they may write
 * gives no one anything new: macOS's `admin` (80), which Homebrew makes `/opt/homebrew` and
 * `/usr/local` writable by, and Debian's `staff`, whose `/usr/local` (2775, before Debian 12) comes
 * first in root's PATH. Root's own group always.
 */
function rootEquivalentGroup(gid: number): boolean {
  if (gid === 0) return true;
  if (process.platform === 'darwin') return gid === 80;
  rootEquivalentGids ??= groupIdsNamed('staff');
  return rootEquivalentGids.has(gid);
}

/** The ids /etc/group gives the group `name` (none where it cannot be read). */
function groupIdsNamed(name: string): Set<number> {
  let lines: string[];
  try {
    lines = readFileSync('/etc/group', 'utf8').split('\n');
  } catch {
    return new Set();
  }
  return new Set(lines.map((line) => line.split(':')).filter(([group]) => group === name).map((fields) => Number(fields[2])));
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
 * For a folder the gateway is about to make (`mkdir -p`): why the folders it would be made in let
 * another account swap it afterwards, as `checkTrustedDirectory` says it of an existing one, or null.
 */
export async function checkTrustedFutureDirectory(path: string, options: { trustRoot: boolean }): Promise<string | null> {
  const userUid = process.getuid?.();
  if (userUid === undefined) return null;
  return untrustedAncestor(path, { userUid, userGid: process.getgid?.() ?? userUid, trustRoot: options.trustRoot }, { missingFine: true });
}

/**
 * The first folder or symlink on the way to `path` that another account could use to swap what
 * comes after it, as "inside <it>, which is <why>", or null: each folder the kernel looks in must
 * pass `ancestorDistrustReason`, and each symlink it follows `symlinkDistrust` (whoever can write a
 * folder can replace what is in it, and a symlink's owner can repoint it). Nearest first.
 */
async function untrustedAncestor(path: string, rule: TrustRule, options: { missingFine?: boolean } = {}): Promise<string | null> {
  const steps = await pathWalk(path, options);
  for (const step of steps.reverse()) {
    const reason = step.kind === 'link' ? symlinkDistrust(step.stats, rule) : ancestorDistrustReason(step.stats, rule);
    if (reason) return `inside ${step.path}, which is ${reason}`;
  }
  return null;
}

type WalkStep = { kind: 'folder' | 'link'; path: string; stats: Stats };

/** How many symlinks a walk follows before it gives up (Linux's own limit, MAXSYMLINKS). */
const MAX_LINK_HOPS = 40;

/**
 * What the kernel goes through to reach `path`, in order: each folder it looks a name up in, and
 * each symlink it follows, hop by hop (a link to a link included), with `..` taken after the link
 * before it, as the kernel takes it. `path.resolve` would drop `a/link/..` before seeing the link.
 */
async function pathWalk(path: string, options: { missingFine?: boolean } = {}): Promise<WalkStep[]> {
  const steps: WalkStep[] = [];
  const folders = new Set<string>();
  const names = (text: string) => text.split('/').filter((name) => name !== '' && name !== '.');
  const remaining = names(path.startsWith('/') ? path : `${process.cwd()}/${path}`);
  let current = '/';
  let hops = 0;
  while (remaining.length > 0) {
    const name = remaining.shift()!;
    if (name === '..') {
      current = dirname(current);
      continue;
    }
    if (!folders.has(current)) {
      folders.add(current);
      steps.push({ kind: 'folder', path: current, stats: await stat(current) });
    }
    const next = current === '/' ? `/${name}` : `${current}/${name}`;
    const info = await lstat(next).catch((error: NodeJS.ErrnoException) => {
      // The rest is to be made, by us: only where it will be made counts.
      if (options.missingFine && error.code === 'ENOENT') return null;
      throw error;
    });
    if (!info) break;
    if (!info.isSymbolicLink()) {
      current = next;
      continue;
    }
    if (++hops > MAX_LINK_HOPS) throw Object.assign(new Error(`too many levels of symbolic links: ${path}`), { code: 'ELOOP' });
    steps.push({ kind: 'link', path: next, stats: info });
    const target = await readlink(next);
    remaining.unshift(...names(target));
    if (target.startsWith('/')) current = '/';
  }
  return steps;
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
