import { readdir, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../events/logger.js';
import type { ModelDeclaration } from '../plugins/manifest-schema.js';
import { isFileLocked } from './file-lock.js';
import { PENDING_SHA256 } from './model-pins.js';
import { sha256File } from './hash-file.js';
import type { ModelErrorInfo } from './model-error.js';
import type { PluginWithModels } from './model-types.js';
import { createSpeedMeter, etaSeconds, formatBytes, type ModelProgress } from './progress-meter.js';
import type { VerifyCache } from './verify-cache.js';

/*
 * What is in the models folder compared with what plugins declare: the read side of the
 * provisioner (list, verify) and its clean-up (gc, stale parts). Nothing here downloads.
 */

/** `missing`, `downloading`, `ready`, `corrupt` as the issue names them; `unverified` = present, not yet hashed; `conflict` = plugins disagree on its hash. */
export type ModelState = 'missing' | 'downloading' | 'ready' | 'corrupt' | 'unverified' | 'conflict';

export interface ModelStatus {
  filename: string;
  /** Absolute path the file has (or will have) in the models folder. */
  path: string;
  sha256: string;
  /** From the manifest, when declared. */
  declaredSize: number | null;
  /** Size of the file on disk, when present. */
  sizeOnDisk: number | null;
  plugins: Array<{ id: string; key: string }>;
  state: ModelState;
  /** While downloading (or for a left-over `.part`): bytes so far. */
  receivedBytes: number | null;
  totalBytes: number | null;
  percent: number | null;
  bytesPerSecond: number | null;
  /** The last failure in this process, cleared by a success. */
  error: ModelErrorInfo | null;
}

export interface VerifyResult {
  filename: string;
  path: string;
  plugins: string[];
  /** `unpinned`: a pending model present with no pinned hash to check it against. */
  state: 'ready' | 'corrupt' | 'missing' | 'conflict' | 'unpinned';
  expectedSha256: string;
  actualSha256: string | null;
}

export interface GcEntry {
  name: string;
  path: string;
  bytes: number;
}

export interface GcResult {
  /** Removed (or, with `dryRun`, removable). */
  removed: GcEntry[];
  /** Present but left alone, with the reason. */
  skipped: Array<{ name: string; reason: string }>;
  bytes: number;
}

/** What the inventory needs from the provisioner that owns the folder. */
export interface InventoryContext {
  modelsDir: string;
  stateDir: string;
  cache: VerifyCache;
  lockStaleMs: number;
  stalePartMs: number;
  logger: Logger | undefined;
  /** Progress of this process's own download of a file, if one is running. */
  activeProgress(filename: string): ModelProgress | undefined;
  lastError(filename: string): ModelErrorInfo | undefined;
}

export interface Declared {
  filename: string;
  sha256: string;
  size: number | undefined;
  owners: Array<{ plugin: PluginWithModels; declaration: ModelDeclaration }>;
  conflict: string | null;
}

/** Groups declarations by file name; a file claimed with two different hashes is a conflict. */
export function collectDeclarations(plugins: PluginWithModels[]): Declared[] {
  const byName = new Map<string, Declared>();
  for (const plugin of plugins) {
    for (const declaration of plugin.manifest.inference?.models ?? []) {
      let entry = byName.get(declaration.filename);
      if (!entry) {
        entry = { filename: declaration.filename, sha256: declaration.sha256, size: declaration.size, owners: [], conflict: null };
        byName.set(declaration.filename, entry);
      } else if (entry.sha256 !== declaration.sha256 && !entry.conflict) {
        const first = entry.owners[0]?.plugin.id ?? '?';
        entry.conflict =
          `"${declaration.filename}" is declared with SHA-256 ${entry.sha256} by ${first} and ${declaration.sha256} by ${plugin.id}; ` +
          'rename the model (its "filename") in one of the manifests so that each plugin gets its own file';
      }
      entry.size ??= declaration.size;
      entry.owners.push({ plugin, declaration });
    }
  }
  return [...byName.values()].sort((a, b) => a.filename.localeCompare(b.filename));
}

async function statusOf(ctx: InventoryContext, entry: Declared): Promise<ModelStatus> {
  const target = join(ctx.modelsDir, entry.filename);
  const base: ModelStatus = {
    filename: entry.filename,
    path: target,
    sha256: entry.sha256,
    declaredSize: entry.size ?? null,
    sizeOnDisk: null,
    plugins: entry.owners.map(({ plugin, declaration }) => ({ id: plugin.id, key: declaration.key })),
    state: 'missing',
    receivedBytes: null,
    totalBytes: entry.size ?? null,
    percent: null,
    bytesPerSecond: null,
    error: ctx.lastError(entry.filename) ?? null,
  };
  const withProgress = (received: number, total: number | null, bytesPerSecond: number | null): ModelStatus => ({
    ...base,
    state: 'downloading',
    receivedBytes: received,
    totalBytes: total,
    percent: total ? Math.min(100, Math.round((1000 * received) / total) / 10) : null,
    bytesPerSecond,
  });
  if (entry.conflict) return conflictStatus(ctx, entry, base);
  const active = ctx.activeProgress(entry.filename);
  if (active) return withProgress(active.receivedBytes, active.totalBytes, Math.round(active.bytesPerSecond));
  const stats = await stat(target).catch(() => undefined);
  if (stats?.isFile()) {
    // A pending model present without a pin cannot be vouched for: ensure() fetches it afresh.
    if (entry.sha256 === PENDING_SHA256) return { ...base, state: 'unverified', sizeOnDisk: stats.size };
    const cached = await ctx.cache.lookup(entry.filename, stats);
    const state: ModelState = cached === undefined ? 'unverified' : cached === entry.sha256 ? 'ready' : 'corrupt';
    return { ...base, state, sizeOnDisk: stats.size };
  }
  const part = await stat(`${join(ctx.modelsDir, entry.filename)}.part`).catch(() => undefined);
  if (part && (await isFileLocked(target, ctx.lockStaleMs))) return withProgress(part.size, entry.size ?? null, null);
  return { ...base, receivedBytes: part ? part.size : null };
}

/** A file declared with two hashes: says whose verified file is on disk, if the cache knows (name-conflict.ts). */
async function conflictStatus(ctx: InventoryContext, entry: Declared, base: ModelStatus): Promise<ModelStatus> {
  const stats = await stat(base.path).catch(() => undefined);
  const onDisk = stats?.isFile() ? await ctx.cache.lookup(entry.filename, stats) : undefined;
  const holders = entry.owners.filter(({ declaration }) => onDisk !== undefined && declaration.sha256 === onDisk).map(({ plugin }) => plugin.id);
  const holding = holders.length > 0 ? ` (the file on disk is the one of ${holders.join(', ')}, which keeps using it)` : '';
  return { ...base, state: 'conflict', sizeOnDisk: stats?.isFile() ? stats.size : null, error: { code: 'conflict', message: `${entry.conflict ?? ''}${holding}` } };
}

/** Re-hashes every present declared file, ignoring (and refreshing) the cache; moves nothing. */
export async function verifyModels(
  ctx: InventoryContext,
  plugins: PluginWithModels[],
  verifyOptions: { signal?: AbortSignal; onProgress?: (progress: ModelProgress) => void } = {},
): Promise<VerifyResult[]> {
  const results: VerifyResult[] = [];
  for (const entry of collectDeclarations(plugins)) {
    const target = join(ctx.modelsDir, entry.filename);
    const base = { filename: entry.filename, path: target, plugins: entry.owners.map((owner) => owner.plugin.id), expectedSha256: entry.sha256 };
    const stats = await stat(target).catch(() => undefined);
    if (!stats?.isFile()) {
      results.push({ ...base, state: 'missing', actualSha256: null });
      continue;
    }
    const speed = createSpeedMeter();
    const report = (receivedBytes: number) => {
      const bytesPerSecond = speed.sample(receivedBytes);
      verifyOptions.onProgress?.({
        filename: entry.filename,
        plugins: base.plugins,
        state: 'verifying',
        receivedBytes,
        totalBytes: stats.size,
        bytesPerSecond,
        etaSeconds: etaSeconds(receivedBytes, stats.size, bytesPerSecond),
      });
    };
    report(0);
    const actual = await sha256File(target, { onBytes: report, ...(verifyOptions.signal ? { signal: verifyOptions.signal } : {}) });
    await ctx.cache.record(entry.filename, stats, actual).catch(() => undefined);
    const state = entry.conflict ? 'conflict' : entry.sha256 === PENDING_SHA256 ? 'unpinned' : actual === entry.sha256 ? 'ready' : 'corrupt';
    results.push({ ...base, state, actualSha256: actual });
  }
  return results;
}

/**
 * Removes files in the models folder that none of `plugins` declares: old models, `.corrupt-*`,
 * parts and locks of undeclared files. Leaves folders, hidden entries and anything locked alone.
 */
export async function collectGarbage(ctx: InventoryContext, plugins: PluginWithModels[], gcOptions: { dryRun?: boolean } = {}): Promise<GcResult> {
  const declared = new Set(collectDeclarations(plugins).map((entry) => entry.filename));
  const keep = new Set([...declared].flatMap((name) => [name, `${name}.part`, `${name}.lock`]));
  const result: GcResult = { removed: [], skipped: [], bytes: 0 };
  const entries = await readdir(ctx.modelsDir, { withFileTypes: true }).catch(() => []);
  const remove = async (name: string, path: string, bytes: number, isDir = false) => {
    result.removed.push({ name, path, bytes });
    result.bytes += bytes;
    if (!gcOptions.dryRun) await rm(path, { force: true, recursive: isDir });
  };
  for (const entry of entries) {
    const path = join(ctx.modelsDir, entry.name);
    if (keep.has(entry.name) || entry.name.startsWith('.')) continue;
    if (entry.name.endsWith('.lock') && entry.isDirectory()) {
      const target = path.slice(0, -'.lock'.length);
      if (await isFileLocked(target, ctx.lockStaleMs)) result.skipped.push({ name: entry.name, reason: 'another process holds this download lock' });
      else await remove(entry.name, path, 0, true);
      continue;
    }
    if (!entry.isFile()) {
      result.skipped.push({ name: entry.name, reason: 'not a regular file (gc only removes files)' });
      continue;
    }
    if (entry.name.endsWith('.part') && (await isFileLocked(path.slice(0, -'.part'.length), ctx.lockStaleMs))) {
      result.skipped.push({ name: entry.name, reason: 'being downloaded by another process' });
      continue;
    }
    const stats = await stat(path).catch(() => undefined);
    if (stats) await remove(entry.name, path, stats.size);
  }
  // Sidecars of files that are no longer declared.
  const sidecars = await readdir(ctx.stateDir).catch(() => []);
  for (const name of sidecars) {
    const owner = name.replace(/\.(verified|part)\.json$/, '');
    if (owner !== name && !declared.has(owner) && !gcOptions.dryRun) await unlink(join(ctx.stateDir, name)).catch(() => undefined);
  }
  return result;
}

/** Removes `.part` files older than `stalePartMs` that nobody holds the lock for. */
export async function cleanStaleParts(ctx: InventoryContext): Promise<string[]> {
  const removed: string[] = [];
  const cutoff = Date.now() - ctx.stalePartMs;
  const entries = await readdir(ctx.modelsDir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.endsWith('.part')) continue;
    const path = join(ctx.modelsDir, entry.name);
    const filename = entry.name.slice(0, -'.part'.length);
    const stats = await stat(path).catch(() => undefined);
    if (!stats || stats.mtimeMs >= cutoff || ctx.activeProgress(filename)) continue;
    if (await isFileLocked(join(ctx.modelsDir, filename), ctx.lockStaleMs)) continue;
    await unlink(path).catch(() => undefined);
    await unlink(join(ctx.stateDir, `${filename}.part.json`)).catch(() => undefined);
    removed.push(path);
    ctx.logger?.info(`Removed stale partial download ${path} (${formatBytes(stats.size)}, untouched for ${Math.round((Date.now() - stats.mtimeMs) / 3_600_000)}h)`);
  }
  return removed;
}

/** Every declared model with its state; cheap (stats and cache reads, no hashing). */
export async function listModels(ctx: InventoryContext, plugins: PluginWithModels[]): Promise<ModelStatus[]> {
  return Promise.all(collectDeclarations(plugins).map((entry) => statusOf(ctx, entry)));
}
