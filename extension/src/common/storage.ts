import browser from 'webextension-polyfill';
import { DEFAULT_SETTINGS, StorageKey, type ExtensionSettings, type TabState } from './protocol';

/**
 * All state lives in `storage`, never only in memory: MV3 service workers are stopped when idle.
 * Settings go to `storage.local` (survive browser restarts); per-tab state to `storage.session`
 * (survives worker restarts, cleared with the browser, like the tabs it describes).
 */

/** Earlier versions kept a global `cspMode` whose default stripped every site's CSP: dropped, never carried over. */
type StoredSettings = Partial<ExtensionSettings> & { cspMode?: unknown };

export async function loadSettings(): Promise<ExtensionSettings> {
  const { cspMode: _dropped, ...stored } = ((await browser.storage.local.get(StorageKey.settings))[StorageKey.settings] as StoredSettings | undefined) ?? {};
  return { ...DEFAULT_SETTINGS, ...stored };
}

export async function saveSettings(patch: Partial<ExtensionSettings>): Promise<ExtensionSettings> {
  const next = { ...(await loadSettings()), ...patch };
  await browser.storage.local.set({ [StorageKey.settings]: next });
  return next;
}

export async function loadTabState(tabId: number): Promise<TabState | null> {
  const key = StorageKey.tab(tabId);
  return ((await browser.storage.session.get(key))[key] as TabState | undefined) ?? null;
}

export async function saveTabState(state: TabState): Promise<void> {
  await browser.storage.session.set({ [StorageKey.tab(state.tabId)]: state });
}

export async function removeTabState(tabId: number): Promise<void> {
  await browser.storage.session.remove(StorageKey.tab(tabId));
}

export async function allTabStates(): Promise<TabState[]> {
  const everything = await browser.storage.session.get(null);
  return Object.entries(everything)
    .filter(([key]) => StorageKey.isTab(key))
    .map(([, value]) => value as TabState);
}
