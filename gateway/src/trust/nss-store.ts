import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { assertSucceeded, CommandNotFoundError, runCommand, type Command, type CommandRunner } from '../os/run-command.js';
import { pemBody, type CaIdentity } from './ca-identity.js';
import type { TrustStore } from './trust-store.js';

export interface NssStoreOptions {
  home: string;
  platform?: NodeJS.Platform;
  run?: CommandRunner;
  /** `certutil` from NSS (Debian: libnss3-tools; Fedora: nss-tools; macOS: brew install nss). */
  certutil?: string;
}

/** Folders that hold one Firefox profile per sub-folder, per OS and packaging. */
export function firefoxProfileRoots(platform: NodeJS.Platform, home: string, env: NodeJS.ProcessEnv = process.env): string[] {
  if (platform === 'darwin') return [join(home, 'Library/Application Support/Firefox/Profiles')];
  if (platform === 'win32') return env.APPDATA ? [join(env.APPDATA, 'Mozilla/Firefox/Profiles')] : [];
  return [join(home, '.mozilla/firefox'), join(home, 'snap/firefox/common/.mozilla/firefox'), join(home, '.var/app/org.mozilla.firefox/.mozilla/firefox')];
}

/** The shared NSS db Chromium and Chrome read on Linux (`~/.pki/nssdb`). */
export const chromiumNssDb = (home: string) => join(home, '.pki/nssdb');

const CERTUTIL_HINT = 'install NSS tools: `apt-get install libnss3-tools` (Debian/Ubuntu), `dnf install nss-tools` (Fedora), `brew install nss` (macOS)';

/** certutil commands against one NSS db, as data (unit tests check them; the store runs them). */
export const nssCommands = {
  create: (certutil: string, db: string): Command => ({ file: certutil, args: ['-d', `sql:${db}`, '-N', '--empty-password'] }),
  /** `C,,`: a trusted CA for TLS servers, nothing else (not e-mail, not code signing). */
  add: (certutil: string, db: string, ca: CaIdentity): Command => ({ file: certutil, args: ['-d', `sql:${db}`, '-A', '-t', 'C,,', '-n', ca.nickname, '-i', ca.certPath] }),
  show: (certutil: string, db: string, ca: CaIdentity): Command => ({ file: certutil, args: ['-d', `sql:${db}`, '-L', '-n', ca.nickname, '-a'] }),
  list: (certutil: string, db: string): Command => ({ file: certutil, args: ['-d', `sql:${db}`, '-L'] }),
  remove: (certutil: string, db: string, ca: CaIdentity): Command => ({ file: certutil, args: ['-d', `sql:${db}`, '-D', '-n', ca.nickname] }),
};

/**
 * NSS databases: Chromium's `~/.pki/nssdb` on Linux and every Firefox profile found. Trust lives
 * in the user's home only; no root, no other user affected. Firefox profiles are only touched
 * when they already exist (we never create one).
 */
export function nssStore(options: NssStoreOptions): TrustStore {
  const platform = options.platform ?? process.platform;
  const run = options.run ?? runCommand;
  const certutil = options.certutil ?? 'certutil';
  const exec = async (command: Command) => {
    try {
      return await run(command);
    } catch (error) {
      if (error instanceof CommandNotFoundError) throw new Error(`certutil is missing: ${CERTUTIL_HINT}`);
      throw error;
    }
  };
  return {
    id: 'nss',
    label: platform === 'linux' ? 'NSS databases (Chromium ~/.pki/nssdb, Firefox profiles)' : 'NSS databases (Firefox profiles)',
    needsAdmin: false,
    async locations() {
      const found: string[] = platform === 'linux' ? [chromiumNssDb(options.home)] : [];
      for (const root of firefoxProfileRoots(platform, options.home)) {
        const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
        for (const entry of entries) {
          if (entry.isDirectory() && existsSync(join(root, entry.name, 'cert9.db'))) found.push(join(root, entry.name));
        }
      }
      return found;
    },
    async isTrusted(ca, db) {
      if (!existsSync(join(db, 'cert9.db'))) return false;
      const shown = await exec(nssCommands.show(certutil, db, ca));
      if (shown.code !== 0 || pemBody(shown.stdout) !== pemBody(ca.pem)) return false;
      const listed = await exec(nssCommands.list(certutil, db));
      const line = listed.stdout.split('\n').find((row) => row.startsWith(`${ca.nickname} `));
      return /\bC/.test(line?.slice(ca.nickname.length).trim().split(',')[0] ?? '');
    },
    async add(ca, db) {
      if (!existsSync(join(db, 'cert9.db'))) {
        await mkdir(db, { recursive: true, mode: 0o700 });
        assertSucceeded(nssCommands.create(certutil, db), await exec(nssCommands.create(certutil, db)));
      }
      const add = nssCommands.add(certutil, db, ca);
      assertSucceeded(add, await exec(add));
    },
    async remove(ca, db) {
      if (!existsSync(join(db, 'cert9.db'))) return;
      // certutil -D removes one entry per call; loop in case the nickname was added twice.
      for (let attempt = 0; attempt < 5; attempt += 1) {
        const shown = await exec(nssCommands.show(certutil, db, ca));
        if (shown.code !== 0) return;
        const remove = nssCommands.remove(certutil, db, ca);
        assertSucceeded(remove, await exec(remove));
      }
    },
  };
}
