import type { CaIdentity } from './ca-identity.js';

/** Every trust store AiPlugs knows, by the name `aiplugs ca install --store` takes. */
export const TRUST_STORE_IDS = ['nss', 'linux-system', 'macos-system', 'windows-user', 'windows-machine'] as const;
export type TrustStoreId = (typeof TRUST_STORE_IDS)[number];

/**
 * One place certificates can be trusted (an NSS database, a keychain, a Windows store).
 * A store may have several locations (one NSS db per browser profile) or just one.
 */
export interface TrustStore {
  id: TrustStoreId;
  /** In words, for `ca status` and the dashboard. */
  label: string;
  /** True when adding needs root / an administrator prompt. */
  needsAdmin: boolean;
  /** The locations this store has on this machine right now (install may create the first one). */
  locations(): Promise<string[]>;
  isTrusted(ca: CaIdentity, location: string): Promise<boolean>;
  add(ca: CaIdentity, location: string): Promise<void>;
  remove(ca: CaIdentity, location: string): Promise<void>;
}
