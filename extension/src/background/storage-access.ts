/**
 * Content scripts run in the renderer of whatever page they are in, and `storage.local`, which
 * holds the gateway token, is open to them by default. Chromium lets an extension close it to its
 * own pages and worker (`setAccessLevel`, a choice the browser keeps); Firefox has no such switch
 * for `storage.local` (named in SECURITY.md).
 */
interface AccessLevelApi {
  setAccessLevel?: (options: { accessLevel: 'TRUSTED_CONTEXTS' }) => Promise<void>;
}

export async function keepLocalStorageFromContentScripts(): Promise<void> {
  const local = (globalThis as { chrome?: { storage?: { local?: AccessLevelApi } } }).chrome?.storage?.local;
  if (typeof local?.setAccessLevel !== 'function') return;
  try {
    await local.setAccessLevel({ accessLevel: 'TRUSTED_CONTEXTS' });
  } catch (error) {
    console.warn('AiPlugs: could not keep storage.local from content scripts:', error);
  }
}
