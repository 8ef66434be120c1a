import type { Stats } from 'node:fs';
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../data/write-file-atomic.js';

const entrySchema = z.object({
  size: z.number().int().nonnegative(),
  mtimeMs: z.number(),
  ino: z.number(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

/**
 * Remembers the SHA-256 of each model file as it was when last hashed, keyed by size, mtime and
 * inode, so a restart trusts a multi-gigabyte file without reading it again — and any rewrite,
 * replacement or truncation (which changes one of the three) forces a fresh hash.
 *
 * One small JSON file per model (`<stateDir>/<filename>.verified.json`) rather than one shared
 * file: two gateways on the same folder then never lose each other's entries.
 */
export interface VerifyCache {
  /** The hash recorded for exactly this state of the file, if any (it may differ from the declared one). */
  lookup(filename: string, stats: Stats): Promise<string | undefined>;
  record(filename: string, stats: Stats, sha256: string): Promise<void>;
  forget(filename: string): Promise<void>;
}

/**
 * @example
 *   const cache = createVerifyCache('/models/.aiplugs');
 *   await cache.record('m.gguf', await stat('/models/m.gguf'), hex);
 */
export function createVerifyCache(stateDir: string): VerifyCache {
  const fileFor = (filename: string) => join(stateDir, `${filename}.verified.json`);
  return {
    async lookup(filename, stats) {
      let raw: unknown;
      try {
        raw = JSON.parse(await readFile(fileFor(filename), 'utf8'));
      } catch {
        return undefined;
      }
      const parsed = entrySchema.safeParse(raw);
      if (!parsed.success) return undefined;
      const entry = parsed.data;
      const same = entry.size === stats.size && entry.mtimeMs === stats.mtimeMs && entry.ino === stats.ino;
      return same ? entry.sha256 : undefined;
    },
    async record(filename, stats, sha256) {
      await mkdir(stateDir, { recursive: true });
      const entry = { size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino, sha256 };
      await writeFileAtomic(fileFor(filename), `${JSON.stringify(entry)}\n`);
    },
    async forget(filename) {
      await unlink(fileFor(filename)).catch(() => undefined);
    },
  };
}
