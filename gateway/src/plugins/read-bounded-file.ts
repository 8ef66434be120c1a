import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/**
 * The file's bytes if it has at most `max` of them, else null; never follows a symlink as its last
 * step. Bounded while reading too: a file that grows after its size was read is read again (null if
 * it keeps growing), never past `max`.
 */
export async function readBoundedFile(path: string, max: number, attempts = 3): Promise<Buffer | null> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const { size } = await handle.stat();
    if (size > max) return null;
    // One byte more than the file had: room to notice it grew, not a whole `max` per read.
    const buffer = Buffer.alloc(size + 1);
    let length = 0;
    // Until the end of the file: one read may return less (network file systems).
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) return buffer.subarray(0, length);
      length += bytesRead;
      // Grown since the stat (being written): read it again as it is now, a few times at most.
      if (length === buffer.length) return length > max || attempts <= 1 ? null : readBoundedFile(path, max, attempts - 1);
    }
  } finally {
    await handle.close();
  }
}
