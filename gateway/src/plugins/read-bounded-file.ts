import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/**
 * The file's bytes if it has at most `max` of them, else null; never follows a symlink as its last
 * step. Bounded while reading too: a file that grows after its size was read is not read whole.
 */
export async function readBoundedFile(path: string, max: number): Promise<Buffer | null> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    if ((await handle.stat()).size > max) return null;
    const buffer = Buffer.alloc(max + 1);
    let length = 0;
    // Until the end of the file: one read may return less (network file systems).
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) return buffer.subarray(0, length);
      length += bytesRead;
      // Grown since the stat: too big after all.
      if (length > max) return null;
    }
  } finally {
    await handle.close();
  }
}
