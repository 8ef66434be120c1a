import type { PluginMatch, PluginRegistry } from '../plugins/plugin-registry.js';
import { activePlugins } from './active-plugins.js';
import type { Settings } from './settings-store.js';

const MAX_URLS = 512;
/** Longer URLs are answered without being remembered: a page chooses its URL, and memory stays bounded. */
const MAX_URL_CHARS = 2048;

/**
 * `activePlugins` with each URL's answer remembered until the plugins or the settings change.
 * The proxy asks twice per document (before the request and on the response) and pages reload
 * the same URLs. Both the registry's list and the settings are replaced, never mutated, when
 * they change, so a new list or settings object is what drops every remembered answer.
 */
export function createActivePluginsCache(registry: PluginRegistry, settings: () => Settings): (url: string) => PluginMatch[] {
  let records = registry.list();
  let current = settings();
  let byUrl = new Map<string, PluginMatch[]>();
  return (url) => {
    if (registry.list() !== records || settings() !== current) {
      records = registry.list();
      current = settings();
      byUrl = new Map();
    }
    let matches = byUrl.get(url);
    if (!matches) {
      matches = activePlugins(registry, current, url);
      if (url.length <= MAX_URL_CHARS) {
        if (byUrl.size >= MAX_URLS) byUrl.clear();
        byUrl.set(url, matches);
      }
    }
    return matches;
  };
}
