import { realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { coveredByRevision } from './plugin-revision.js';

export interface LocatedPluginFile {
  /** Where the file really is, symlinks resolved: inside the plugin's folder. */
  path: string;
  /**
   * Its contents may be kept in memory for as long as the plugin's revision stands: the revision
   * covers the file and it was reached without a symlink, so any edit of it gives a new revision.
   */
  keepable: boolean;
}

/**
 * Where a file of a plugin (a path relative to its folder) really is, or null when it resolves
 * outside the folder. Rejects (ENOENT…) when it does not exist.
 */
export async function locatePluginFile(dir: string, file: string): Promise<LocatedPluginFile | null> {
  const root = await realpath(dir);
  const path = await realpath(join(root, file));
  if (!path.startsWith(root + sep)) return null;
  return { path, keepable: path === join(root, file) && coveredByRevision(file) };
}
