import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';

/** How many bytes an unprivileged writer may still put on the disk holding `dir`. */
export type FreeSpaceProbe = (dir: string) => Promise<number>;

/**
 * Free space for `dir` by `statfs`: blocks available to unprivileged users (root's reserve is not
 * ours to fill). A folder that does not exist yet is measured at its nearest existing ancestor.
 *
 * @example
 *   const free = await freeSpaceOf('/home/me/.cache/aiplugs/models'); // 73_014_444_032
 */
export const freeSpaceOf: FreeSpaceProbe = async (dir) => {
  for (let current = dir; ; current = dirname(current)) {
    try {
      const info = await statfs(current);
      return info.bavail * info.bsize;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(current) === current) throw error;
    }
  }
};
