import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from '../events/logger.js';
import type { PluginRegistry } from './plugin-registry.js';

/**
 * Hot reload: re-reads the plugins folder shortly after any file in it changes. Editors write a
 * file in several steps (temp file, rename, chmod), so changes are debounced into one reload.
 * Returns the function that stops watching.
 */
export function watchPlugins(options: { registry: PluginRegistry; pluginsDir: string; logger: Logger; debounceMs?: number }): () => void {
  let timer: NodeJS.Timeout | null = null;
  let watcher: FSWatcher;
  const reload = () => {
    timer = null;
    options.registry.reload().then(
      (records) => {
        for (const record of records) {
          if (record.status === 'enabled' && record.pendingErrors) {
            options.logger.warn(`Plugin "${record.id}" edit is broken (${record.pendingErrors.join('; ')}); keeping the last good version running`);
          }
        }
      },
      (error: unknown) => options.logger.error(`Reloading plugins failed: ${(error as Error).message}`),
    );
  };
  try {
    watcher = watch(options.pluginsDir, { recursive: true }, () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(reload, options.debounceMs ?? 250);
    });
  } catch (error) {
    options.logger.warn(`Cannot watch ${options.pluginsDir} for changes (${(error as Error).message}); plugin edits need a restart`);
    return () => undefined;
  }
  watcher.on('error', (error) => options.logger.warn(`Stopped watching plugins: ${error.message}`));
  return () => {
    if (timer) clearTimeout(timer);
    watcher.close();
  };
}
