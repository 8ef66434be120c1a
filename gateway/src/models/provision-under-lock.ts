import { mkdir, rename, stat } from 'node:fs/promises';
import type { Logger } from '../events/logger.js';
import type { ModelDeclaration } from '../plugins/manifest-schema.js';
import { downloadModelFile } from './download-file.js';
import { expectedHash } from './expected-hash.js';
import { acquireFileLock } from './file-lock.js';
import type { JobProgress } from './job-progress.js';
import { folderError, ModelError } from './model-error.js';
import type { ModelFolder } from './model-folder.js';
import type { PinStore } from './model-pins.js';
import type { ModelSource } from './model-source.js';
import { nameConflict } from './name-conflict.js';
import type { ModelPeer } from '../plugins/plugin-registry.js';
import { formatBytes } from './progress-meter.js';
import type { ProvisionerSettings } from './provisioner-settings.js';
import { ensureSpace } from './space-reserve.js';

export interface ProvisionContext {
  settings: ProvisionerSettings;
  folder: ModelFolder;
  pins: PinStore;
  logger: Logger | undefined;
}

/** What provisioning one file reads from its job (the plugin set and `logProgress` change while it runs). */
export interface FileJob {
  readonly declaration: ModelDeclaration;
  /** null: a pending declaration's first download, whose hash is pinned when it completes. */
  readonly sha256: string | null;
  readonly sources: ModelSource[];
  /** Other plugins declaring this file name, with their hashes (see name-conflict.ts). */
  readonly peers: ModelPeer[];
  readonly controller: AbortController;
  plugins: Set<string>;
  logProgress: boolean;
  readonly progress: JobProgress;
}

const forWhom = (job: FileJob) => [...job.plugins].join(', ');

/**
 * Makes one file present and verified: a cache hit needs no lock; otherwise under the cross-process
 * lock, a file someone else finished is verified, a wrong one moved aside, and a missing one downloaded.
 * A file that another plugin declares under the same name with its own hash is left alone (`conflict`).
 */
export async function provisionFile(ctx: ProvisionContext, job: FileJob): Promise<string> {
  const { filename } = job.declaration;
  const target = ctx.folder.targetOf(filename);
  // Fast path without the lock: the final file only ever appears by atomic rename, so a cache hit is safe.
  if (job.sha256 !== null && (await ctx.folder.cachedHash(filename)) === job.sha256) return target;
  let release: (() => Promise<void>) | undefined;
  try {
    await mkdir(ctx.folder.modelsDir, { recursive: true });
    release = await lockDownload(ctx, job);
    // Another process may have pinned a pending file while we waited for the lock.
    const expected = job.sha256 ?? (await expectedHash(ctx.pins, job.declaration));
    // Whoever held the lock may have finished the file meanwhile; a corrupt one is moved aside, not deleted.
    const present = await ctx.folder.verifiedHash(filename, (receivedBytes, totalBytes) => job.progress.onProgress({ phase: 'verifying', receivedBytes, totalBytes }));
    if (present && present.sha256 === expected) return target;
    const claim = { filename, target, expected, declared: job.declaration.sha256, plugins: [...job.plugins], peers: job.peers };
    const taken = nameConflict(claim, present?.sha256);
    if (taken) throw taken;
    if (present) await setAside(ctx, job, expected, present.sha256);
    const notOurs = nameConflict(claim, undefined);
    if (notOurs) throw notOurs;
    await download(ctx, job, expected);
    return target;
  } catch (error) {
    const reason: unknown = job.controller.signal.reason;
    if (reason instanceof ModelError && reason.code === 'lock_lost') throw reason;
    if (error instanceof ModelError) throw error;
    // Cancelled while waiting for the lock or hashing: say so, not "operation was aborted".
    if (job.controller.signal.aborted) throw new ModelError('aborted', `Provisioning ${filename} was cancelled`, { cause: error });
    // Creating the folder, taking the lock and moving a bad file aside write in the models folder
    // too: a read-only or full one is reported as such, not as whatever the fallback guesses.
    throw folderError(error, (error as NodeJS.ErrnoException | undefined)?.path ?? ctx.folder.modelsDir) ?? error;
  } finally {
    await release?.();
  }
}

/** Takes the file's download lock, showing the other process's progress while waiting for it. */
function lockDownload(ctx: ProvisionContext, job: FileJob): Promise<() => Promise<void>> {
  const { filename, size } = job.declaration;
  let waitedLogged = false;
  return acquireFileLock(ctx.folder.targetOf(filename), {
    staleMs: ctx.settings.lockStaleMs,
    pollMs: ctx.settings.lockPollMs,
    signal: job.controller.signal,
    onCompromised: (error) =>
      job.controller.abort(new ModelError('lock_lost', `Lost the download lock for ${filename} (${error.message}); another process may have taken over`, { transient: true })),
    onWait: async () => {
      if (!waitedLogged) ctx.logger?.info(`Waiting for another AiPlugs process that is downloading ${filename}…`);
      waitedLogged = true;
      const part = await stat(ctx.folder.partOf(filename)).catch(() => undefined);
      job.progress.onProgress({ phase: 'downloading', receivedBytes: part?.size ?? 0, totalBytes: size ?? null });
    },
  });
}

/** Moves a present file that is not the expected one aside (never deletes it) and forgets its cached hash. */
async function setAside(ctx: ProvisionContext, job: FileJob, expected: string | null, found: string): Promise<void> {
  const { filename, source_url } = job.declaration;
  const target = ctx.folder.targetOf(filename);
  const aside = `${target}.corrupt-${Date.now()}`;
  await rename(target, aside);
  await ctx.folder.cache.forget(filename);
  const why = expected === null ? `has no pinned SHA-256 for ${source_url} (${ctx.pins.path})` : `does not match its SHA-256 (expected ${expected}, found ${found})`;
  ctx.logger?.warn(`Model ${filename} for ${forWhom(job)} ${why}; moved it to ${aside} and fetching it again`);
}

/** Downloads the file from its usable sources, pins a pending hash on first use, and records the verified hash. */
async function download(ctx: ProvisionContext, job: FileJob, expected: string | null): Promise<void> {
  const { settings, folder, logger } = ctx;
  const { declaration, sources } = job;
  const { filename, size } = declaration;
  const target = folder.targetOf(filename);
  const usable = settings.offline ? sources.filter((source) => source.kind === 'file') : sources;
  if (usable.length === 0) {
    throw new ModelError(
      'offline',
      `Model ${filename} for ${forWhom(job)} is missing and offline mode (AIPLUGS_OFFLINE) forbids downloading it from ${sources[0]?.display ?? 'its source'}. ` +
        `Put the file at ${target} or pull it with network access ("aiplugs models pull ${[...job.plugins][0] ?? 'all'}").`,
    );
  }
  const started = Date.now();
  let startOffset = 0;
  const { source, bytes, sha256: actual } = await downloadModelFile(
    { filename, target, partPath: folder.partOf(filename), metaPath: folder.metaOf(filename), sha256: expected, size, maxBytes: settings.maxDownloadBytes, sources: usable, forWhom: () => forWhom(job) },
    {
      retries: settings.retries,
      retryBaseMs: settings.retryBaseMs,
      retryMaxMs: settings.retryMaxMs,
      retryAfterMaxMs: settings.retryAfterMaxMs,
      stallTimeoutMs: settings.stallTimeoutMs,
      lowSpeedBytesPerSecond: settings.lowSpeedBytesPerSecond,
      lowSpeedWindowMs: settings.lowSpeedWindowMs,
      signal: job.controller.signal,
      createPartStream: settings.createPartStream,
      ensureSpace: (bytesToCome) => ensureSpace(settings, folder.modelsDir, { filename, forWhom: forWhom(job), bytesToCome }),
      spaceCheckBytes: settings.spaceCheckBytes,
      onProgress: job.progress.onProgress,
      onNote: (level, message) => (level === 'warn' ? logger?.warn(message) : job.logProgress && logger?.info(message)),
      onSourceStart: (from, offset, total) => {
        startOffset = offset;
        if (!job.logProgress) return;
        const resume = offset > 0 ? `, resuming at ${formatBytes(offset)}` : '';
        const of = total !== null ? ` (${formatBytes(total)}${resume})` : resume ? ` (${resume.slice(2)})` : '';
        logger?.info(`Downloading model ${filename} for ${forWhom(job)}… from ${from.display}${of}`);
      },
    },
  );
  if (expected === null) {
    // Trust on first use, written before the download lock is released: every later start verifies against it.
    await ctx.pins.pin(filename, { sha256: actual, source_url: declaration.source_url, size: bytes, pinned_at: new Date().toISOString() });
    logger?.warn(`Model ${filename} for ${forWhom(job)} had no confirmed SHA-256; pinned the first complete download (${actual}) in ${ctx.pins.path}`);
  }
  const stats = await stat(target);
  await folder.cache.record(filename, stats, actual).catch(() => undefined);
  const seconds = Math.max(0.001, (Date.now() - started) / 1000);
  if (job.logProgress) {
    logger?.info(`Model ${filename} ready for ${forWhom(job)}: ${formatBytes(bytes)} from ${source.display} in ${seconds.toFixed(1)}s (${formatBytes((bytes - startOffset) / seconds)}/s)`);
  }
}
