import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertSucceeded, runCommand, type Command, type CommandRunner } from '../os/run-command.js';
import { pemBody, type CaIdentity } from './ca-identity.js';
import type { TrustStore } from './trust-store.js';

/** The two layouts of the Linux system trust store: Debian/Ubuntu and Fedora/RHEL/Arch (p11-kit). */
export interface LinuxSystemLayout {
  anchorsDir: string;
  /** The file suffix the refresh tool picks up. */
  suffix: string;
  refresh: Command;
}

export const DEBIAN_LAYOUT: LinuxSystemLayout = {
  anchorsDir: '/usr/local/share/ca-certificates',
  suffix: '.crt',
  refresh: { file: 'update-ca-certificates', args: [] },
};

export const P11KIT_LAYOUT: LinuxSystemLayout = {
  anchorsDir: '/etc/pki/ca-trust/source/anchors',
  suffix: '.pem',
  refresh: { file: 'update-ca-trust', args: ['extract'] },
};

/** Picks the layout of this distribution by which anchors folder exists. */
export function detectLinuxLayout(exists: (path: string) => boolean = existsSync): LinuxSystemLayout | null {
  if (exists(DEBIAN_LAYOUT.anchorsDir)) return DEBIAN_LAYOUT;
  if (exists(P11KIT_LAYOUT.anchorsDir)) return P11KIT_LAYOUT;
  return null;
}

export interface LinuxSystemStoreOptions {
  layout?: LinuxSystemLayout | null;
  run?: CommandRunner;
  isRoot?: () => boolean;
  /** Shown in the "needs root" error so `sudo` finds the same CA (sudo changes HOME). */
  dataDir: string;
}

export const systemAnchorFile = (layout: LinuxSystemLayout, ca: CaIdentity) =>
  join(layout.anchorsDir, `${ca.nickname.toLowerCase().replace(/[^a-z0-9]+/g, '-')}${layout.suffix}`);

/**
 * The system-wide store (curl, wget, Python, Node with --use-openssl-ca, most CLI tools). Needs
 * root and affects every user of the machine: the least safe choice, never a default.
 */
export function linuxSystemStore(options: LinuxSystemStoreOptions): TrustStore {
  const layout = options.layout === undefined ? detectLinuxLayout() : options.layout;
  const run = options.run ?? runCommand;
  const isRoot = options.isRoot ?? (() => process.getuid?.() === 0);
  const requireRoot = () => {
    if (!layout) throw new Error('No known system trust store layout here (looked for /usr/local/share/ca-certificates and /etc/pki/ca-trust/source/anchors)');
    if (!isRoot()) throw new Error(`The system store needs root: sudo aiplugs ca install --store linux-system --data-dir "${options.dataDir}"`);
    return layout;
  };
  return {
    id: 'linux-system',
    label: layout ? `Linux system store (${layout.anchorsDir}, ${layout.refresh.file})` : 'Linux system store (not found)',
    needsAdmin: true,
    locations: async () => (layout ? [layout.anchorsDir] : []),
    async isTrusted(ca) {
      if (!layout) return false;
      const text = await readFile(systemAnchorFile(layout, ca), 'utf8').catch(() => null);
      return text !== null && pemBody(text) === pemBody(ca.pem);
    },
    async add(ca) {
      const chosen = requireRoot();
      await writeFile(systemAnchorFile(chosen, ca), ca.pem, { mode: 0o644 });
      assertSucceeded(chosen.refresh, await run(chosen.refresh));
    },
    async remove(ca) {
      const chosen = requireRoot();
      await rm(systemAnchorFile(chosen, ca), { force: true });
      assertSucceeded(chosen.refresh, await run(chosen.refresh));
    },
  };
}
