import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { LRUCache } from 'lru-cache';
import type { PluginRecord, PluginRegistry } from '../../plugins/plugin-registry.js';
import { locatePluginFile } from '../../plugins/locate-plugin-file.js';
import { echoPattern } from '../../plugins/manifest-schema.js';
import { publishedFiles } from '../../plugins/published-files.js';
import { ApiError } from '../api-error.js';

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
};

export interface PluginFile {
  body: Buffer;
  type: string;
}

export interface PluginFileReader {
  /** A published file of an enabled plugin; ApiError 404 for anything else, 403 for a path that leaves its folder. */
  read(id: string, path: string): Promise<PluginFile>;
}

/** Bounds of the in-memory copies: the scripts pages load on every visit, not a plugin's big assets. */
export interface PluginFileCacheLimits {
  maxBytes: number;
  maxFileBytes: number;
}

const DEFAULT_LIMITS: PluginFileCacheLimits = { maxBytes: 16 * 1024 * 1024, maxFileBytes: 2 * 1024 * 1024 };

/**
 * Reads the files an enabled plugin publishes (content scripts, their CSS,
 * `web_accessible_resources`), refusing anything else in its folder and anything that would leave
 * it. An unpublished file is "not found", whether or not it exists: a page learns nothing about
 * the folder.
 *
 * Files are kept in memory by plugin revision, so a page's content scripts are answered without a
 * trip through the file system. That matters while the page loads: each of the four or five
 * file-system steps of a read waits a turn of an event loop busy proxying the page's own
 * sub-resources, which made a 300-byte script take 30–170 ms in the page-load benchmark. Only a file
 * the revision fingerprint covers is kept (within REVISION_DEPTH, outside node_modules and the
 * other folders it skips, reached without a symlink), so
 * an edit always yields a new revision after hot reload, and with it a fresh read. The copies
 * follow the registry, not the disk: if the plugin watcher fails (it logs a warning), they stay
 * until a restart, as the manifests do. A `stat` per hit would catch that, at the cost of the
 * event-loop turn this cache exists to save.
 *
 * @example
 *   const files = createPluginFileReader(registry);
 *   const { body, type } = await files.read('echo', 'content.js');
 */
export function createPluginFileReader(registry: PluginRegistry, limits: PluginFileCacheLimits = DEFAULT_LIMITS): PluginFileReader {
  const cache = new LRUCache<string, PluginFile>({ maxSize: limits.maxBytes, maxEntrySize: limits.maxFileBytes, sizeCalculation: (file) => Math.max(1, file.body.length) });
  const published = new WeakMap<PluginRecord, (path: string) => boolean>();

  const isPublished = (record: PluginRecord & { status: 'enabled' }, path: string): boolean => {
    let test = published.get(record);
    if (!test) published.set(record, (test = publishedFiles(record.manifest)));
    return test(path);
  };

  return {
    async read(id: string, path: string): Promise<PluginFile> {
      const record = registry.get(id);
      if (!record || record.status !== 'enabled') throw new ApiError(404, 'plugin_not_found', `No enabled plugin "${id}"`);
      if (!isPublished(record, path)) throw new ApiError(404, 'file_not_found', `Plugin "${id}" publishes no file "${echoPattern(path)}"`);
      const key = `${id}\0${record.revision}\0${path}`;
      const cached = cache.get(key);
      if (cached) return cached;
      let file: PluginFile;
      let keepable: boolean;
      try {
        const located = await locatePluginFile(record.dir, path);
        if (!located) throw new ApiError(403, 'invalid_path', `"${path}" leaves the plugin folder`);
        file = { body: await readFile(located.path), type: CONTENT_TYPES[extname(located.path)] ?? 'application/octet-stream' };
        keepable = located.keepable;
      } catch (error) {
        if (error instanceof ApiError) throw error;
        throw new ApiError(404, 'file_not_found', `Plugin "${id}" has no file "${path}"`);
      }
      if (keepable) cache.set(key, file);
      return file;
    },
  };
}
