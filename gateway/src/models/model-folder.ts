import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../config/load-config.js';
import { checkTrustedDirectory, checkTrustedFutureDirectory } from '../data/trusted-directory.js';
import { formatManifestIssues, modelDeclarationSchema, type ModelDeclaration } from '../plugins/manifest-schema.js';
import { sha256File } from './hash-file.js';
import { ModelError } from './model-error.js';
import { PENDING_SHA256 } from './model-pins.js';
import type { PluginWithModels } from './model-types.js';
import { createVerifyCache, type VerifyCache } from './verify-cache.js';

/** The folder (inside the models folder) for sidecars: hidden, and no model may be named like it. */
const STATE_DIR = '.aiplugs';

/** Built-in declarations may say `sha256: "pending"` (see model-pins.ts); manifests never can. */
const provisionDeclarationSchema = modelDeclarationSchema.extend({
  sha256: z.union([z.literal(PENDING_SHA256), modelDeclarationSchema.shape.sha256]),
});

/** Where a model's files live in the models folder, and what is known of their hashes. */
export interface ModelFolder {
  readonly modelsDir: string;
  /** Sidecars: verify cache, pins, `.part` metadata. */
  readonly stateDir: string;
  readonly cache: VerifyCache;
  targetOf(filename: string): string;
  partOf(filename: string): string;
  metaOf(filename: string): string;
  /** Schema check again at this edge: a `PluginWithModels` may be built by code, not only by the registry. */
  checkDeclaration(plugin: PluginWithModels, declaration: ModelDeclaration): ModelDeclaration;
  /** The recorded hash of the file as it is now, without reading it; undefined when absent or unknown. */
  cachedHash(filename: string): Promise<string | undefined>;
  /** The file's hash (from the cache, else by reading it); undefined when absent. */
  verifiedHash(filename: string, onBytes?: (bytes: number, total: number) => void): Promise<{ sha256: string; size: number } | undefined>;
}

/**
 * The gateway runs its workers on the models it finds here and trusts the verify records beside
 * them (a matching size, mtime and inode skips the hash), so a models folder another account owns
 * or can write lets it swap a model and forge its record. Refused with a ConfigError (exit 3) that
 * names the folder; root's folders are trusted (a system-wide install), and a folder not made yet
 * is fine where the folders it will be made in are (the gateway makes it, under its umask:
 * restrict-umask.ts).
 */
export async function assertTrustedModelsFolder(dir: string): Promise<void> {
  const modelsDir = resolve(dir);
  const reason = await checkTrustedDirectory(modelsDir, { trustRoot: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return checkTrustedFutureDirectory(modelsDir, { trustRoot: true });
    throw error;
  });
  if (!reason) return;
  throw new ConfigError(
    `models_dir ${modelsDir} is ${reason}: that account could replace a model and its verification record, so it is not used. ` +
      'Give --models-dir a folder of your own, or make this one yours and not writable by others (chown -R, chmod -R go-w: what is inside counts too)',
  );
}

export function openModelFolder(dir: string): ModelFolder {
  const modelsDir = resolve(dir);
  const stateDir = join(modelsDir, STATE_DIR);
  const cache = createVerifyCache(stateDir);
  const targetOf = (filename: string) => join(modelsDir, filename);
  return {
    modelsDir,
    stateDir,
    cache,
    targetOf,
    partOf: (filename) => `${targetOf(filename)}.part`,
    metaOf: (filename) => join(stateDir, `${filename}.part.json`),
    checkDeclaration(plugin, declaration) {
      const parsed = provisionDeclarationSchema.safeParse(declaration);
      if (!parsed.success) {
        throw new ModelError('invalid_declaration', `Plugin ${plugin.id} declares an invalid model: ${formatManifestIssues(parsed.error).join('; ')}`);
      }
      if (dirname(targetOf(parsed.data.filename)) !== modelsDir) {
        throw new ModelError('invalid_declaration', `Plugin ${plugin.id}: model file name "${declaration.filename}" would leave the models folder`);
      }
      return parsed.data;
    },
    async cachedHash(filename) {
      const stats = await stat(targetOf(filename)).catch(() => undefined);
      return stats?.isFile() ? cache.lookup(filename, stats) : undefined;
    },
    async verifiedHash(filename, onBytes) {
      const target = targetOf(filename);
      const stats = await stat(target).catch(() => undefined);
      if (!stats) return undefined;
      if (!stats.isFile()) throw new ModelError('invalid_declaration', `${target} exists but is not a regular file`);
      const cached = await cache.lookup(filename, stats);
      if (cached) return { sha256: cached, size: stats.size };
      const sha256 = await sha256File(target, onBytes ? { onBytes: (bytes) => onBytes(bytes, stats.size) } : {});
      // Record against the stats read before hashing: if the file changed meanwhile, the entry simply won't match.
      await cache.record(filename, stats, sha256).catch(() => undefined);
      return { sha256, size: stats.size };
    },
  };
}
