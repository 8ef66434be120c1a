import { createStore, get, set, type UseStore } from 'idb-keyval';
import { z } from 'zod/mini';

/**
 * The gateway tokens (the paired gateway's and those of gateways paired before) live in the
 * extension's own IndexedDB, not in `storage.local`. Content scripts run in the renderer of
 * whatever page they are in, and `storage.local` is open to them unless the browser can close it:
 * Chromium can (`setAccessLevel`, background/storage-access.ts), Firefox cannot. The extension
 * origin's IndexedDB opens only in the extension's own pages and worker; in a content script,
 * `indexedDB` is the page's. idb-keyval: a small, well-kept promise wrapper around one object store.
 */
const SecretsSchema = z.object({
  token: z.nullable(z.string()),
  knownGateways: z.array(z.object({ address: z.string(), token: z.string() })),
});
export type Secrets = z.infer<typeof SecretsSchema>;

const KEY = 'gateway-tokens';
let store: UseStore | undefined;
const secrets = (): UseStore => (store ??= createStore('aiplugs', 'secrets'));

/** What was saved, or undefined when nothing was (or what is there is not in this shape). */
export async function loadSecrets(): Promise<Secrets | undefined> {
  const parsed = SecretsSchema.safeParse(await get(KEY, secrets()));
  return parsed.success ? parsed.data : undefined;
}

export function saveSecrets(value: Secrets): Promise<void> {
  return set(KEY, value, secrets());
}
