import type { SkipReason } from '../events/activity-events.js';
import type { PluginMatch, PluginRegistry } from '../plugins/plugin-registry.js';
import { hostMatchesSitePattern } from './site-patterns.js';
import type { Settings } from './settings-store.js';

/**
 * The plugins that are actually injected into a page: those whose content scripts match the URL,
 * minus everything the user switched off (global pause, site, plugin-on-site). The proxy injects
 * exactly this set and the bridge lets a page call exactly this set, so they cannot disagree.
 */
export function activePlugins(registry: PluginRegistry, settings: Settings, url: string): PluginMatch[] {
  const hostname = hostnameOf(url);
  if (hostname === null || !siteAllowed(settings, hostname)) return [];
  return registry.matching(url).filter(({ plugin }) => pluginAllowedOnSite(settings, hostname, plugin.id));
}

/**
 * Why `activePlugins` is empty for this URL (for the activity view), or null when it is not.
 * Only asked after a document got no plugins, so the common injected path pays nothing.
 */
export function whyNoPlugins(registry: PluginRegistry, settings: Settings, url: string): SkipReason | null {
  const hostname = hostnameOf(url);
  if (hostname === null) return 'no-match';
  if (settings.paused) return 'paused';
  if (!siteAllowed(settings, hostname)) return 'site-disabled';
  const matches = registry.matching(url);
  if (matches.length === 0) return 'no-match';
  return matches.some(({ plugin }) => pluginAllowedOnSite(settings, hostname, plugin.id)) ? null : 'disabled-on-site';
}

/**
 * Whether a plugin injected into a page of `origin` may still run there: it is still enabled and
 * the user has not paused everything or switched the site or the plugin on it off since. The
 * bridge asks this on every call, so a switch takes effect at once on open pages too.
 */
export function activeOnSite(registry: PluginRegistry, settings: Settings, origin: string, pluginId: string): boolean {
  const hostname = hostnameOf(origin);
  if (hostname === null || !siteAllowed(settings, hostname)) return false;
  return registry.get(pluginId)?.status === 'enabled' && pluginAllowedOnSite(settings, hostname, pluginId);
}

/** Whether AiPlugs works on this origin at all (not paused, the site not switched off): what Web AI asks per call. */
export function siteActive(settings: Settings, origin: string): boolean {
  const hostname = hostnameOf(origin);
  return hostname !== null && siteAllowed(settings, hostname);
}

function hostnameOf(url: string): string | null {
  try {
    return new URL(url).hostname;
  } catch {
    return null;
  }
}

function siteAllowed(settings: Settings, hostname: string): boolean {
  return !settings.paused && !settings.disabled_sites.some((pattern) => hostMatchesSitePattern(hostname, pattern));
}

function pluginAllowedOnSite(settings: Settings, hostname: string, pluginId: string): boolean {
  return !(settings.plugin_disabled_sites[pluginId] ?? []).some((pattern) => hostMatchesSitePattern(hostname, pattern));
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
