import { stat } from 'node:fs/promises';
import { ConfigError } from '../config/load-config.js';
import type { GatewayConfig } from '../config/config-schema.js';
import type { Logger } from '../events/logger.js';
import { createPluginRegistry, type PluginRegistry } from '../plugins/plugin-registry.js';
import { describeReload } from '../plugins/reload-outcome.js';
import { watchPlugins } from '../plugins/watch-plugins.js';
import { repoPath } from '../package-paths.js';

/**
 * The plugins folder exists and is a folder: asked before the start makes anything, so a mistyped
 * `--plugins-dir` is one clear line (exit 3), not a file system error after the CA and token.
 */
export async function assertPluginsFolder(config: GatewayConfig): Promise<void> {
  const pluginsDir = config.plugins_dir ?? repoPath('plugins');
  const stats = await stat(pluginsDir).catch((error: NodeJS.ErrnoException) => error.code ?? 'unreadable');
  if (typeof stats === 'string') throw new ConfigError(`plugins_dir ${pluginsDir}: ${stats === 'ENOENT' ? 'no such folder' : `cannot be read (${stats})`}; create it, or give --plugins-dir a folder of plugins`);
  if (!stats.isDirectory()) throw new ConfigError(`plugins_dir ${pluginsDir}: not a folder; give --plugins-dir a folder of plugins`);
}

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
