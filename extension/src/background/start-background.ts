import browser from 'webextension-polyfill';
import { StorageKey } from '../common/protocol';
import { loadSettings, removeTabState } from '../common/storage';
import { listenForLauncherPairing } from './launcher-pairing';
import { handleMessage, syncHeaderRules } from './message-handlers';
import { applyProxyRouting, listenForProxyRequests } from './proxy-routing';
import { keepLocalStorageFromContentScripts } from './storage-access';
import { endSuppressedLoad } from './suppressed-loads';

/**
 * Wires the background. Listeners are registered synchronously at start-up, as MV3 requires for
 * a worker woken by an event; every piece of state is read from storage when needed.
 */
export function startBackground(): void {
  void keepLocalStorageFromContentScripts();
  browser.runtime.onMessage.addListener(handleMessage);
  listenForLauncherPairing();
  browser.tabs.onRemoved.addListener((tabId) => {
    void removeTabState(tabId);
    void endSuppressedLoad(tabId).catch(() => undefined);
  });
  listenForProxyRequests(loadSettings);
  // Settings changed anywhere (popup, another window): the routing follows.
  browser.storage.onChanged.addListener((changes, area) => {
    if (area === 'local' && changes[StorageKey.settings]) void loadSettings().then(applyProxyRouting).catch(() => undefined);
  });
  const restore = () => {
    void loadSettings().then(applyProxyRouting).catch(() => undefined);
    void syncHeaderRules();
  };
  browser.runtime.onStartup.addListener(restore);
  browser.runtime.onInstalled.addListener(restore);
}
