import type { PluginMatch, PluginRegistry } from '../plugins/plugin-registry.js';
import { hostMatchesSitePattern } from './site-patterns.js';
import type { Settings } from './settings-store.js';

/**
 * The plugins that are actually injected into a page: those whose content scripts match the URL,
 * minus everything the user switched off (global pause, site, plugin-on-site). The proxy injects
 * exactly this set and the bridge lets a page call exactly this set, so they cannot disagree.
 */
export function activePlugins(registry: PluginRegistry, settings: Settings, url: string): PluginMatch[] {
  if (settings.paused) return [];
  let hostname: string;
  try {
    hostname = new URL(url).hostname;
  } catch {
    return [];
  }
  if (settings.disabled_sites.some((pattern) => hostMatchesSitePattern(hostname, pattern))) return [];
  return registry
    .matching(url)
    .filter(({ plugin }) => !(settings.plugin_disabled_sites[plugin.id] ?? []).some((pattern) => hostMatchesSitePattern(hostname, pattern)));
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** True for a URL on the gateway's own API origin (any loopback name for it). */
export function isGatewayOrigin(url: string, apiPort: number): boolean {
  try {
    const parsed = new URL(url);
    return LOOPBACK_HOSTS.has(parsed.hostname) && Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80)) === apiPort;
  } catch {
    return false;
  }
}
