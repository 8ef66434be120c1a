import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../data/write-file-atomic.js';
import type { CommandRunner } from '../os/run-command.js';
import { caIdentity, type CaIdentity } from './ca-identity.js';
import { linuxSystemStore } from './linux-system-store.js';
import { macosKeychainStore } from './macos-keychain-store.js';
import { nssStore } from './nss-store.js';
import { TRUST_STORE_IDS, type TrustStore, type TrustStoreId } from './trust-store.js';
import { windowsCertStore } from './windows-cert-store.js';

/** Said before anything is installed, by the CLI and the dashboard alike. */
export const TRUST_WARNING = [
  'Installing the AiPlugs CA makes programs that use that trust store accept any HTTPS certificate this CA signs.',
  'Its private key (ca.key in the data dir, mode 0600) never leaves this machine, but anyone who can read it could intercept your HTTPS traffic.',
  'The safer choice needs no install: `aiplugs browser` starts a browser that trusts the CA only inside its own temporary profile.',
  '`aiplugs ca uninstall` removes exactly what this adds.',
].join('\n');

/** Per-OS words for the dashboard and `ca status`: what install does here and how to do it by hand. */
export function trustInstructions(platform: NodeJS.Platform): string {
  if (platform === 'darwin') {
    return 'macOS: `aiplugs ca install` adds the CA to the System keychain as a trusted root; macOS asks for an administrator password. By hand: double-click ca.pem, then in Keychain Access set "When using this certificate" to "Always Trust". Firefox: `--store nss` (needs `brew install nss`) or enable security.enterprise_roots.enabled.';
  }
  if (platform === 'win32') {
    return 'Windows: `aiplugs ca install` adds the CA to your user Root store (certutil -user -addstore Root); Windows asks you to confirm. `--store windows-machine` needs an administrator shell. Firefox: `--store nss` or enable security.enterprise_roots.enabled.';
  }
  return 'Linux: `aiplugs ca install` adds the CA to your NSS databases (Chromium/Chrome ~/.pki/nssdb and existing Firefox profiles) with certutil (package libnss3-tools); restart the browser afterwards. `--store linux-system` (as root) adds it for curl, Python and other tools via update-ca-certificates.';
}

export const trustRecordEntrySchema = z.object({
  store: z.enum(TRUST_STORE_IDS),
  location: z.string(),
  nickname: z.string(),
  sha1: z.string(),
  sha256: z.string(),
  pem: z.string(),
  addedAt: z.string(),
});
export type TrustRecordEntry = z.infer<typeof trustRecordEntrySchema>;
const trustRecordSchema = z.object({ entries: z.array(trustRecordEntrySchema) });

export const trustRecordFile = (dataDir: string) => join(dataDir, 'trust.json');

export async function readTrustRecord(dataDir: string): Promise<TrustRecordEntry[]> {
  try {
    return trustRecordSchema.parse(JSON.parse(await readFile(trustRecordFile(dataDir), 'utf8'))).entries;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`${trustRecordFile(dataDir)} is unreadable (${(error as Error).message}); remove it after checking \`aiplugs ca status\``);
  }
}

async function writeTrustRecord(dataDir: string, entries: TrustRecordEntry[]): Promise<void> {
  await writeFileAtomic(trustRecordFile(dataDir), `${JSON.stringify({ entries }, null, 2)}\n`, 0o600);
}

export interface CaTrustOptions {
  dataDir: string;
  home?: string;
  platform?: NodeJS.Platform;
  run?: CommandRunner;
  isRoot?: () => boolean;
  /** Replaces the per-OS stores entirely (tests). */
  stores?: TrustStore[];
}

/** The trust stores that exist on a platform, safest first. */
export function trustStoresFor(options: CaTrustOptions): TrustStore[] {
  if (options.stores) return options.stores;
  const platform = options.platform ?? process.platform;
  const home = options.home ?? homedir();
  const run = options.run;
  const nss = nssStore({ home, platform, ...(run ? { run } : {}) });
  if (platform === 'darwin') return [macosKeychainStore(run ? { run } : {}), nss];
  if (platform === 'win32') return [windowsCertStore('user', run ? { run } : {}), windowsCertStore('machine', run ? { run } : {}), nss];
  return [nss, linuxSystemStore({ dataDir: options.dataDir, ...(run ? { run } : {}), ...(options.isRoot ? { isRoot: options.isRoot } : {}) })];
}

/** What `aiplugs ca install` uses without `--store`: the per-user store of each OS. */
export function defaultStoreIds(platform: NodeJS.Platform = process.platform): TrustStoreId[] {
  if (platform === 'darwin') return ['macos-system'];
  if (platform === 'win32') return ['windows-user'];
  return ['nss'];
}

export interface TrustChange {
  store: TrustStoreId;
  location: string;
  outcome: 'added' | 'already-trusted' | 'removed' | 'already-gone' | 'failed';
  error?: string;
}

function pickStores(all: TrustStore[], ids: TrustStoreId[]): TrustStore[] {
  return ids.map((id) => {
    const store = all.find((candidate) => candidate.id === id);
    if (!store) throw new Error(`Trust store "${id}" does not exist on this OS; choose from ${all.map((s) => s.id).join(', ')}`);
    return store;
  });
}

/**
 * Adds the CA to each location of the chosen stores and records every addition in `trust.json`,
 * so `uninstallCa` removes exactly those. A location that already trusts it is left alone and
 * not recorded (we did not add it, so we will not remove it).
 */
export async function installCa(ca: CaIdentity, storeIds: TrustStoreId[], options: CaTrustOptions): Promise<TrustChange[]> {
  const stores = pickStores(trustStoresFor(options), storeIds);
  const record = await readTrustRecord(options.dataDir);
  const changes: TrustChange[] = [];
  for (const store of stores) {
    for (const location of await store.locations()) {
      try {
        if (await store.isTrusted(ca, location)) {
          changes.push({ store: store.id, location, outcome: 'already-trusted' });
          continue;
        }
        await store.add(ca, location);
        if (!(await store.isTrusted(ca, location))) throw new Error('the store accepted the certificate but does not list it as trusted');
        record.push({ store: store.id, location, nickname: ca.nickname, sha1: ca.sha1, sha256: ca.sha256, pem: ca.pem, addedAt: new Date().toISOString() });
        await writeTrustRecord(options.dataDir, record);
        changes.push({ store: store.id, location, outcome: 'added' });
      } catch (error) {
        changes.push({ store: store.id, location, outcome: 'failed', error: (error as Error).message });
      }
    }
  }
  return changes;
}

/** Removes every certificate `installCa` recorded (also those of an older, rotated CA), and nothing else. */
export async function uninstallCa(options: CaTrustOptions & { storeIds?: TrustStoreId[] }): Promise<TrustChange[]> {
  const stores = trustStoresFor(options);
  const record = await readTrustRecord(options.dataDir);
  const remaining: TrustRecordEntry[] = [];
  const changes: TrustChange[] = [];
  for (const entry of record) {
    const store = stores.find((candidate) => candidate.id === entry.store);
    if (!store || (options.storeIds && !options.storeIds.includes(entry.store))) {
      remaining.push(entry);
      continue;
    }
    // Removal works from the recorded certificate, not ca.pem: the CA may have rotated since.
    const ca: CaIdentity = { ...caIdentity('', entry.pem), nickname: entry.nickname };
    try {
      if (!(await store.isTrusted(ca, entry.location))) {
        changes.push({ store: entry.store, location: entry.location, outcome: 'already-gone' });
        continue;
      }
      await store.remove(ca, entry.location);
      changes.push({ store: entry.store, location: entry.location, outcome: 'removed' });
    } catch (error) {
      remaining.push(entry);
      changes.push({ store: entry.store, location: entry.location, outcome: 'failed', error: (error as Error).message });
    }
  }
  await writeTrustRecord(options.dataDir, remaining);
  return changes;
}

export interface TrustStatus {
  /** Always true: `aiplugs browser` and the Playwright helper trust the CA by SPKI in their own profile. */
  launchedBrowsers: true;
  /** True if any location trusts this CA. */
  trustedAnywhere: boolean;
  stores: Array<{
    id: TrustStoreId;
    label: string;
    needsAdmin: boolean;
    locations: Array<{ location: string; trusted: boolean | null; addedByAiplugs: boolean; error?: string }>;
  }>;
  instructions: string;
}

/** Where the CA is trusted right now, store by store (read-only; never prompts). */
export async function trustStatus(ca: CaIdentity, options: CaTrustOptions): Promise<TrustStatus> {
  const record = await readTrustRecord(options.dataDir);
  const stores: TrustStatus['stores'] = [];
  for (const store of trustStoresFor(options)) {
    const locations: TrustStatus['stores'][number]['locations'] = [];
    for (const location of await store.locations().catch(() => [])) {
      const addedByAiplugs = record.some((entry) => entry.store === store.id && entry.location === location && entry.sha256 === ca.sha256);
      try {
        locations.push({ location, trusted: await store.isTrusted(ca, location), addedByAiplugs });
      } catch (error) {
        locations.push({ location, trusted: null, addedByAiplugs, error: (error as Error).message });
      }
    }
    stores.push({ id: store.id, label: store.label, needsAdmin: store.needsAdmin, locations });
  }
  return {
    launchedBrowsers: true,
    trustedAnywhere: stores.some((store) => store.locations.some((location) => location.trusted === true)),
    stores,
    instructions: trustInstructions(options.platform ?? process.platform),
  };
}
