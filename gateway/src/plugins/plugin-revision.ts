import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Folders that hold installed dependencies, not plugin source: never part of the revision. */
export const NOT_SOURCE: ReadonlySet<string> = new Set(['node_modules', '.venv', 'venv', '__pycache__', '.git']);
/** How many folder levels below a plugin's folder count as its source. */
export const REVISION_DEPTH = 3;

/**
 * Whether the revision fingerprint sees edits of this file (a path relative to the plugin folder):
 * within its depth, outside the folders it skips. Only such a file may be kept in memory by
 * revision, since an edit of any other would not give a new one.
 */
export function coveredByRevision(path: string): boolean {
  const segments = path.split('/');
  return segments.length <= REVISION_DEPTH + 1 && !segments.some((segment) => NOT_SOURCE.has(segment));
}

/** A fingerprint of the plugin's source files (names, sizes, mtimes), a few levels deep. */
export async function pluginRevision(dir: string, depth = REVISION_DEPTH): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (folder: string, level: number): Promise<void> => {
    const entries = (await readdir(folder, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        if (level < depth && !NOT_SOURCE.has(entry.name)) await walk(path, level + 1);
      } else {
        const info = await stat(path).catch(() => null);
        if (info) hash.update(`${path}\0${info.size}\0${info.mtimeMs}\n`);
      }
    }
  };
  await walk(dir, 0);
  return hash.digest('hex').slice(0, 16);
}
