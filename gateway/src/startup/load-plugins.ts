import type { GatewayConfig } from '../config/config-schema.js';
import type { Logger } from '../events/logger.js';
import { createPluginRegistry, type PluginRegistry } from '../plugins/plugin-registry.js';
import { describeReload } from '../plugins/reload-outcome.js';
import { watchPlugins } from '../plugins/watch-plugins.js';
import { repoPath } from '../package-paths.js';

/** Loads the plugins folder, says what loaded (and what did not), and watches it for changes. */
export async function loadPlugins(config: GatewayConfig, logger: Logger): Promise<{ registry: PluginRegistry; stopWatching: () => Promise<void> }> {
  const pluginsDir = config.plugins_dir ?? repoPath('plugins');
  const registry = await createPluginRegistry({ pluginsDir });
  const enabled = registry.list().filter((plugin) => plugin.status === 'enabled');
  logger.info(`Loaded ${enabled.length} plugin(s) from ${pluginsDir}: ${enabled.map((plugin) => plugin.id).join(', ') || 'none'}`);
  for (const line of describeReload([], registry.list()).filter((outcome) => outcome.level === 'warn')) logger.child('plugins').warn(line.message);
  const stopWatching = await watchPlugins({ registry, pluginsDir, logger: logger.child('plugins') });
  return { registry, stopWatching };
}
