import { sep } from 'node:path';
import { watch } from 'chokidar';
import type { Logger } from '../events/logger.js';
import type { PluginRegistry } from './plugin-registry.js';
import { NOT_SOURCE, REVISION_DEPTH } from './plugin-revision.js';
import { describeReload } from './reload-outcome.js';

export interface WatchPluginsOptions {
  registry: PluginRegistry;
  pluginsDir: string;
  logger: Logger;
  /** Quiet time after the last change before reloading (editors save in several steps). */
  debounceMs?: number;
}

/** Dependencies and virtual environments inside a plugin are not its source: never watched. */
const isIgnored = (path: string) => path.split(sep).some((segment) => NOT_SOURCE.has(segment));

/**
 * Hot reload: re-reads the plugins folder once changes stop for `debounceMs`, and logs one line
 * per plugin whose outcome changed (reload-outcome.ts). Reloads never overlap: a change during
 * one schedules another after it.
 *
 * Why chokidar: Node's recursive `fs.watch` on Linux watches each file by inode, so a file
 * replaced by rename (`sed -i`, editors that save to a temporary file and rename it) is lost and
 * later edits go unseen. chokidar watches directories, sees the renamed-in file, re-arms, follows
 * new and removed folders, and skips ignored ones (a plugin's `.venv` can hold thousands of files).
 * Resolves once the initial scan is done, so edits made from then on are seen.
 *
 * @example
 *   const stop = await watchPlugins({ registry, pluginsDir, logger });
 *   await stop();
 */
export async function watchPlugins(options: WatchPluginsOptions): Promise<() => Promise<void>> {
  const debounceMs = options.debounceMs ?? 250;
  let timer: NodeJS.Timeout | null = null;
  let reloading = false;
  let again = false;
  const reload = async (): Promise<void> => {
    timer = null;
    if (reloading) {
      again = true;
      return;
    }
    reloading = true;
    const before = options.registry.list();
    try {
      const after = await options.registry.reload();
      for (const { level, message } of describeReload(before, after)) options.logger[level](message);
    } catch (error) {
      options.logger.error(`Reloading plugins failed: ${(error as Error).message}`);
    }
    reloading = false;
    if (again) {
      again = false;
      schedule();
    }
  };
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void reload(), debounceMs);
  };
  // Plugin folders are one level down; their revision covers REVISION_DEPTH more.
  const watcher = watch(options.pluginsDir, { ignoreInitial: true, depth: REVISION_DEPTH + 1, ignored: isIgnored });
  watcher.on('all', schedule);
  let warned = false;
  watcher.on('error', (error) => {
    if (warned) return;
    warned = true;
    options.logger.warn(`Watching ${options.pluginsDir} failed (${(error as Error).message}); plugin edits may need a restart`);
  });
  await new Promise<void>((resolve) => watcher.once('ready', resolve));
  return async () => {
    if (timer) clearTimeout(timer);
    await watcher.close();
  };
}
