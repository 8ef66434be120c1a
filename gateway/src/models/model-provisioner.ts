import { mkdir, rename, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../events/logger.js';
import { z } from 'zod';
import { formatManifestIssues, modelDeclarationSchema, type ModelDeclaration } from '../plugins/manifest-schema.js';
import type { LoadedPlugin } from '../plugins/plugin-registry.js';
import { createPartFileStream, downloadModelFile, type CreatePartStream, type DownloadProgress } from './download-file.js';
import { acquireFileLock } from './file-lock.js';
import { freeSpaceOf, type FreeSpaceProbe } from './free-space.js';
import { sha256File } from './hash-file.js';
import { parseMirrorSpec } from './mirror-rewrite.js';
import { ModelError, type ModelErrorCode } from './model-error.js';
import { createPinStore, PENDING_SHA256 } from './model-pins.js';
import {
  cleanStaleParts,
  collectGarbage,
  listModels,
  verifyModels,
  type GcResult,
  type InventoryContext,
  type ModelStatus,
  type VerifyResult,
} from './model-inventory.js';
import { resolveSources, type AuthorizationFor, type ModelSource } from './model-source.js';
import { createSpeedMeter, describeProgress, etaSeconds, formatBytes, type ModelProgress } from './progress-meter.js';
import { createVerifyCache } from './verify-cache.js';

/**
 * The part of a loaded plugin the provisioner reads: its id (for messages and events), its folder
 * (for relative `file:` sources) and its manifest. Any `LoadedPlugin` fits.
 */
export type PluginWithModels = Pick<LoadedPlugin, 'id' | 'dir' | 'manifest'>;

export type { GcEntry, GcResult, ModelState, ModelStatus, VerifyResult } from './model-inventory.js';

export interface ModelProvisionerOptions {
  /** The central models folder (`AIPLUGS_MODELS_DIR`, `--models-dir`); created when missing. */
  modelsDir: string;
  /** Never touch the network (`AIPLUGS_OFFLINE=1`); `file:` sources still work. Default false. */
  offline?: boolean;
  /** Mirror spec (`AIPLUGS_MODEL_MIRROR`), see `parseMirrorSpec`. Default none. */
  mirror?: string | null;
  /** `.part` files untouched for longer are removed by `cleanStaleParts()`. Default 168 (a week). */
  stalePartHours?: number;
  /** Receives `model-progress` events for the dashboard. */
  bus?: EventBus;
  logger?: Logger;
  /** No byte for this long fails an attempt as stalled. Default 30 000. */
  stallTimeoutMs?: number;
  /** Extra attempts per source after a transient failure. Default 5. */
  retries?: number;
  /** First backoff delay, doubled per retry with jitter. Default 1 000. */
  retryBaseMs?: number;
  /** Backoff cap. Default 30 000. */
  retryMaxMs?: number;
  /** Cap on a server's `Retry-After`. Default 120 000. */
  retryAfterMaxMs?: number;
  /** A download lock not refreshed for this long is taken over (min 2 000). Default 10 000. */
  lockStaleMs?: number;
  /** How often a process waiting for another's download checks again. Default 500. */
  lockPollMs?: number;
  /** Minimum gap between `model-progress` events (and `onProgress` calls) per file. Default 500. */
  progressIntervalMs?: number;
  /** Gap between "Downloading model …" log lines per file. Default 5 000. */
  logIntervalMs?: number;
  /** Opens `.part` files for writing; inject to simulate a full disk. */
  createPartStream?: CreatePartStream;
  /** `Authorization` for a source URL without user info (a hub token, say); never sent across hosts. */
  authorizationFor?: AuthorizationFor;
  /** The most bytes taken from a source for a file that declares no `size`. Default 20 GiB. */
  maxDownloadBytes?: number;
  /** Free space a download must leave on the models disk. Default 1 GiB. */
  minFreeBytes?: number;
  /** Measures free space on the models disk (default `statfs`); inject to simulate a small disk. */
  freeSpace?: FreeSpaceProbe;
  /** Free space is measured again after this many bytes arrive. Default 64 MiB. */
  spaceCheckBytes?: number;
}

export interface EnsureOptions {
  /** Cancels this caller's wait; a shared download stops only when every caller has cancelled. */
  signal?: AbortSignal;
  /** This caller's view of the progress of each of the plugin's files. */
  onProgress?: (progress: ModelProgress) => void;
  /** Leave progress out of the log (the CLI draws bars instead); warnings and errors still go there. */
  quiet?: boolean;
}

export interface PullResult {
  plugin: string;
  ok: boolean;
  env: Record<string, string>;
  error: { code: ModelErrorCode; message: string } | null;
}

/**
 * The model provisioner. Every method is safe to call concurrently, from any number of
 * gateway processes sharing one models folder.
 */
export interface ModelProvisioner {
  readonly modelsDir: string;
  readonly offline: boolean;
  /**
   * Makes every model the plugin declares present and verified; resolves to `{KEY: absolutePath}`
   * for the worker's environment. Rejects with a `ModelError`.
   */
  ensure(plugin: PluginWithModels, options?: EnsureOptions): Promise<Record<string, string>>;
  /** `ensure` for several plugins; never rejects, reports each plugin's outcome. */
  pull(plugins: PluginWithModels[], options?: EnsureOptions): Promise<PullResult[]>;
  /** Every declared model with its state; cheap (no hashing), for `GET /api/models`. */
  list(plugins: PluginWithModels[]): Promise<ModelStatus[]>;
  /** Re-hashes every present declared file, ignoring the cache; does not move anything. */
  verify(plugins: PluginWithModels[], options?: { signal?: AbortSignal; onProgress?: (progress: ModelProgress) => void }): Promise<VerifyResult[]>;
  /** Removes files in the models folder that no plugin in `plugins` declares. */
  gc(plugins: PluginWithModels[], options?: { dryRun?: boolean }): Promise<GcResult>;
  /** Removes `.part` files older than `stalePartHours` that nobody is writing; call at start-up. */
  cleanStaleParts(): Promise<string[]>;
  /**
   * Stops every download of this process and releases its locks, leaving the parts to resume
   * later; waiting callers get `aborted`. For the gateway's shutdown.
   */
  close(): Promise<void>;
}

const GiB = 1024 * 1024 * 1024;

/** The folder (inside the models folder) for sidecars: hidden, and no model may be named like it. */
const STATE_DIR = '.aiplugs';

/** Built-in declarations may say `sha256: "pending"` (see model-pins.ts); manifests never can. */
const provisionDeclarationSchema = modelDeclarationSchema.extend({
  sha256: z.union([z.literal(PENDING_SHA256), modelDeclarationSchema.shape.sha256]),
});

interface Job {
  /** null: a pending declaration's first download, whose hash is pinned when it completes. */
  sha256: string | null;
  promise: Promise<string>;
  controller: AbortController;
  plugins: Set<string>;
  listeners: Set<(progress: ModelProgress) => void>;
  waiters: number;
  logProgress: boolean;
  last: ModelProgress;
  /** Whether `last` is real progress yet (a late joiner is shown it at once). */
  published: boolean;
}

const errorInfo = (error: unknown): { code: ModelErrorCode; message: string } =>
  error instanceof ModelError ? { code: error.code, message: error.message } : { code: 'network', message: (error as Error)?.message ?? String(error) };

/**
 * Creates the model provisioner: the central registry of model files, downloaded on first use,
 * verified by SHA-256, shared by every plugin that declares the same file, safe against crashes
 * and concurrent gateways. Configuration is resolved here once; a bad mirror spec throws now.
 *
 * @example
 *   const provisioner = createModelProvisioner({ modelsDir, offline: config.models.offline, mirror: config.models.mirror,
 *     stalePartHours: config.models.stale_part_hours, bus, logger: logger.child('models') });
 *   const env = await provisioner.ensure(plugin); // { LID_MODEL: '/…/models/lid.176.ftz' }
 */
export function createModelProvisioner(options: ModelProvisionerOptions): ModelProvisioner {
  const modelsDir = resolve(options.modelsDir);
  const stateDir = join(modelsDir, STATE_DIR);
  const settings = {
    offline: options.offline ?? false,
    mirrors: parseMirrorSpec(options.mirror ?? null),
    stalePartMs: (options.stalePartHours ?? 168) * 3_600_000,
    stallTimeoutMs: options.stallTimeoutMs ?? 30_000,
    retries: options.retries ?? 5,
    retryBaseMs: options.retryBaseMs ?? 1_000,
    retryMaxMs: options.retryMaxMs ?? 30_000,
    retryAfterMaxMs: options.retryAfterMaxMs ?? 120_000,
    lockStaleMs: Math.max(2_000, options.lockStaleMs ?? 10_000),
    lockPollMs: options.lockPollMs ?? 500,
    progressIntervalMs: options.progressIntervalMs ?? 500,
    logIntervalMs: options.logIntervalMs ?? 5_000,
    createPartStream: options.createPartStream ?? createPartFileStream,
    maxDownloadBytes: options.maxDownloadBytes ?? 20 * GiB,
    minFreeBytes: options.minFreeBytes ?? GiB,
    freeSpace: options.freeSpace ?? freeSpaceOf,
    spaceCheckBytes: Math.max(1, options.spaceCheckBytes ?? 64 * 1024 * 1024),
  };
  const logger = options.logger;
  const cache = createVerifyCache(stateDir);
  const pins = createPinStore(stateDir);
  const jobs = new Map<string, Job>();
  const lastErrors = new Map<string, { code: ModelErrorCode; message: string }>();
  const targetOf = (filename: string) => join(modelsDir, filename);
  const partOf = (filename: string) => `${targetOf(filename)}.part`;
  const metaOf = (filename: string) => join(stateDir, `${filename}.part.json`);

  /**
   * Fails a download (fatally: no other source needs less disk) that would leave less than
   * `minFreeBytes` free. A disk whose free space cannot be measured is not checked; ENOSPC still
   * stops the download then.
   */
  async function ensureSpace(filename: string, forWhom: string, bytesToCome: number): Promise<void> {
    const free = await settings.freeSpace(modelsDir).catch(() => undefined);
    if (free === undefined || free >= bytesToCome + settings.minFreeBytes) return;
    const reserve = `the ${formatBytes(settings.minFreeBytes)} kept free (models.min_free_bytes)`;
    const short = bytesToCome > 0 ? `it needs ${formatBytes(bytesToCome)} more to write plus ${reserve}` : `below ${reserve}`;
    throw new ModelError(
      'disk_full',
      `Not enough free space for model ${filename} (for ${forWhom}) in ${modelsDir}: ${formatBytes(Math.max(0, free))} is free, ${short}. ` +
        'Free some space and pull again (a partial download is kept and resumes), or move models elsewhere (--models-dir / AIPLUGS_MODELS_DIR)',
      { fatal: true },
    );
  }

  /** Schema check again at this edge: a `PluginWithModels` may be built by code, not only by the registry. */
  function checkDeclaration(plugin: PluginWithModels, declaration: ModelDeclaration): ModelDeclaration {
    const parsed = provisionDeclarationSchema.safeParse(declaration);
    if (!parsed.success) {
      throw new ModelError('invalid_declaration', `Plugin ${plugin.id} declares an invalid model: ${formatManifestIssues(parsed.error).join('; ')}`);
    }
    if (dirname(targetOf(parsed.data.filename)) !== modelsDir) {
      throw new ModelError('invalid_declaration', `Plugin ${plugin.id}: model file name "${declaration.filename}" would leave the models folder`);
    }
    return parsed.data;
  }

  /** The recorded hash of the file as it is now, without reading it; undefined when absent or unknown. */
  async function cachedHash(filename: string): Promise<string | undefined> {
    const stats = await stat(targetOf(filename)).catch(() => undefined);
    return stats?.isFile() ? cache.lookup(filename, stats) : undefined;
  }

  async function verifiedHash(filename: string, onBytes?: (bytes: number, total: number) => void): Promise<{ sha256: string; size: number } | undefined> {
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
  }

  /** The hash a declaration stands for now: its own, or for a pending one the pinned hash (null before the first download). */
  async function expectedHash(declaration: ModelDeclaration): Promise<string | null> {
    if (declaration.sha256 !== PENDING_SHA256) return declaration.sha256;
    return (await pins.get(declaration.filename, declaration.source_url))?.sha256 ?? null;
  }

  /** The plugins with every pinned pending hash filled in, for the read-only inventory. */
  async function withPins(plugins: PluginWithModels[]): Promise<PluginWithModels[]> {
    return Promise.all(
      plugins.map(async (plugin) => {
        const inference = plugin.manifest.inference;
        if (!inference?.models.some((model) => model.sha256 === PENDING_SHA256)) return plugin;
        const models = await Promise.all(inference.models.map(async (model) => ({ ...model, sha256: (await expectedHash(model)) ?? PENDING_SHA256 })));
        return { ...plugin, manifest: { ...plugin.manifest, inference: { ...inference, models } } };
      }),
    );
  }

  function startJob(declaration: ModelDeclaration, sha256: string | null, sources: ModelSource[], plugin: string, logProgress: boolean): Job {
    const { filename, size } = declaration;
    const controller = new AbortController();
    const speed = createSpeedMeter();
    let lastPhase: ModelProgress['state'] | undefined;
    let lastEventAt = 0;
    let lastLogAt = 0;
    const job: Job = {
      sha256,
      controller,
      plugins: new Set([plugin]),
      listeners: new Set(),
      waiters: 0,
      logProgress,
      published: false,
      last: { filename, plugins: [plugin], state: 'verifying', receivedBytes: 0, totalBytes: size ?? null, bytesPerSecond: 0, etaSeconds: null },
      promise: Promise.resolve(''),
    };
    const forWhom = () => [...job.plugins].join(', ');

    const publish = (progress: ModelProgress, force: boolean) => {
      job.last = progress;
      job.published = true;
      const now = Date.now();
      if (!force && now - lastEventAt < settings.progressIntervalMs) return;
      lastEventAt = now;
      for (const listener of job.listeners) listener(progress);
      for (const id of progress.plugins) {
        options.bus?.emit({
          type: 'model-progress',
          plugin: id,
          filename,
          receivedBytes: progress.receivedBytes,
          totalBytes: progress.totalBytes,
          bytesPerSecond: Math.round(progress.bytesPerSecond),
          state: progress.state,
          ...(progress.error ? { error: progress.error } : {}),
        });
      }
      if (job.logProgress && progress.state === 'downloading' && now - lastLogAt >= settings.logIntervalMs) {
        lastLogAt = now;
        logger?.info(`Downloading model ${filename} for ${forWhom()}… ${describeProgress(progress)}`);
      }
    };
    const onProgress = (progress: DownloadProgress) => {
      const state = progress.phase;
      const changed = state !== lastPhase;
      if (changed) speed.reset();
      lastPhase = state;
      const bytesPerSecond = speed.sample(progress.receivedBytes);
      publish(
        {
          filename,
          plugins: [...job.plugins],
          state,
          receivedBytes: progress.receivedBytes,
          totalBytes: progress.totalBytes,
          bytesPerSecond,
          etaSeconds: etaSeconds(progress.receivedBytes, progress.totalBytes, bytesPerSecond),
        },
        changed,
      );
    };

    const run = async (): Promise<string> => {
      const target = targetOf(filename);
      // Fast path without the lock: the final file only ever appears by atomic rename, so a cache hit is safe.
      if (sha256 !== null && (await cachedHash(filename)) === sha256) return target;
      const usable = settings.offline ? sources.filter((source) => source.kind === 'file') : sources;
      let release: (() => Promise<void>) | undefined;
      let waitedLogged = false;
      try {
        await mkdir(modelsDir, { recursive: true });
        release = await acquireFileLock(target, {
          staleMs: settings.lockStaleMs,
          pollMs: settings.lockPollMs,
          signal: controller.signal,
          onCompromised: (error) =>
            controller.abort(new ModelError('lock_lost', `Lost the download lock for ${filename} (${error.message}); another process may have taken over`, { transient: true })),
          onWait: async () => {
            if (!waitedLogged) logger?.info(`Waiting for another AiPlugs process that is downloading ${filename}…`);
            waitedLogged = true;
            const part = await stat(partOf(filename)).catch(() => undefined);
            onProgress({ phase: 'downloading', receivedBytes: part?.size ?? 0, totalBytes: size ?? null });
          },
        });
        // Another process may have pinned a pending file while we waited for the lock.
        const expected = sha256 ?? (await expectedHash(declaration));
        // Whoever held the lock may have finished the file meanwhile; a corrupt one is moved aside, not deleted.
        const present = await verifiedHash(filename, (receivedBytes, totalBytes) => onProgress({ phase: 'verifying', receivedBytes, totalBytes }));
        if (present && present.sha256 === expected) return target;
        if (present) {
          const aside = `${target}.corrupt-${Date.now()}`;
          await rename(target, aside);
          await cache.forget(filename);
          const why = expected === null ? `has no pinned SHA-256 for ${declaration.source_url} (${pins.path})` : `does not match its SHA-256 (expected ${expected}, found ${present.sha256})`;
          logger?.warn(`Model ${filename} for ${forWhom()} ${why}; moved it to ${aside} and fetching it again`);
        }
        if (usable.length === 0) {
          throw new ModelError(
            'offline',
            `Model ${filename} for ${forWhom()} is missing and offline mode (AIPLUGS_OFFLINE) forbids downloading it from ${sources[0]?.display ?? 'its source'}. ` +
              `Put the file at ${target} or pull it with network access ("aiplugs models pull ${[...job.plugins][0] ?? 'all'}").`,
          );
        }
        const started = Date.now();
        let startOffset = 0;
        const { source, bytes, sha256: actual } = await downloadModelFile(
          { filename, target, partPath: partOf(filename), metaPath: metaOf(filename), sha256: expected, size, maxBytes: settings.maxDownloadBytes, sources: usable, forWhom },
          {
            retries: settings.retries,
            retryBaseMs: settings.retryBaseMs,
            retryMaxMs: settings.retryMaxMs,
            retryAfterMaxMs: settings.retryAfterMaxMs,
            stallTimeoutMs: settings.stallTimeoutMs,
            signal: controller.signal,
            createPartStream: settings.createPartStream,
            ensureSpace: (bytesToCome) => ensureSpace(filename, forWhom(), bytesToCome),
            spaceCheckBytes: settings.spaceCheckBytes,
            onProgress,
            onNote: (level, message) => (level === 'warn' ? logger?.warn(message) : job.logProgress && logger?.info(message)),
            onSourceStart: (from, offset, total) => {
              startOffset = offset;
              if (!job.logProgress) return;
              const resume = offset > 0 ? `, resuming at ${formatBytes(offset)}` : '';
              const of = total !== null ? ` (${formatBytes(total)}${resume})` : resume ? ` (${resume.slice(2)})` : '';
              logger?.info(`Downloading model ${filename} for ${forWhom()}… from ${from.display}${of}`);
            },
          },
        );
        if (expected === null) {
          // Trust on first use, written before the download lock is released: every later start verifies against it.
          await pins.pin(filename, { sha256: actual, source_url: declaration.source_url, size: bytes, pinned_at: new Date().toISOString() });
          logger?.warn(`Model ${filename} for ${forWhom()} had no confirmed SHA-256; pinned the first complete download (${actual}) in ${pins.path}`);
        }
        const stats = await stat(target);
        await cache.record(filename, stats, actual).catch(() => undefined);
        const seconds = Math.max(0.001, (Date.now() - started) / 1000);
        if (job.logProgress) {
          logger?.info(`Model ${filename} ready for ${forWhom()}: ${formatBytes(bytes)} from ${source.display} in ${seconds.toFixed(1)}s (${formatBytes((bytes - startOffset) / seconds)}/s)`);
        }
        return target;
      } catch (error) {
        const reason: unknown = controller.signal.reason;
        if (reason instanceof ModelError && reason.code === 'lock_lost') throw reason;
        // Cancelled while waiting for the lock or hashing: say so, not "operation was aborted".
        if (controller.signal.aborted && !(error instanceof ModelError)) {
          throw new ModelError('aborted', `Provisioning ${filename} was cancelled`, { cause: error });
        }
        throw error;
      } finally {
        await release?.();
      }
    };

    job.promise = run().then(
      (path) => {
        lastErrors.delete(filename);
        publish({ ...job.last, plugins: [...job.plugins], state: 'ready', receivedBytes: job.last.totalBytes ?? job.last.receivedBytes, bytesPerSecond: 0, etaSeconds: 0 }, true);
        return path;
      },
      (error: unknown) => {
        const info = errorInfo(error);
        lastErrors.set(filename, info);
        if (info.code !== 'aborted') logger?.error(`Model ${filename} for ${forWhom()} failed: ${info.message}`);
        publish({ ...job.last, plugins: [...job.plugins], state: 'failed', bytesPerSecond: 0, etaSeconds: null, error: info.message }, true);
        throw error;
      },
    );
    job.promise
      .finally(() => {
        if (jobs.get(filename) === job) jobs.delete(filename);
      })
      .catch(() => undefined);
    return job;
  }

  /** Joins (or starts) the one job for a file; this caller's signal only withdraws this caller. */
  async function provisionFile(plugin: PluginWithModels, declaration: ModelDeclaration, ensureOptions: EnsureOptions): Promise<string> {
    const sources = resolveSources(declaration, plugin.dir, settings.mirrors, options.authorizationFor);
    const sha256 = await expectedHash(declaration);
    let job = jobs.get(declaration.filename);
    if (job && job.sha256 !== sha256) {
      throw new ModelError('conflict', `Plugin ${plugin.id} declares ${declaration.filename} with SHA-256 ${sha256 ?? PENDING_SHA256}, but ${[...job.plugins].join(', ')} is fetching it with ${job.sha256 ?? PENDING_SHA256}`);
    }
    if (!job) {
      job = startJob(declaration, sha256, sources, plugin.id, !ensureOptions.quiet);
      jobs.set(declaration.filename, job);
    }
    const shared = job;
    shared.plugins.add(plugin.id);
    if (!ensureOptions.quiet) shared.logProgress = true;
    const listener = ensureOptions.onProgress;
    if (listener) {
      shared.listeners.add(listener);
      if (shared.published) listener(shared.last);
    }
    shared.waiters += 1;
    const signal = ensureOptions.signal;
    return new Promise<string>((resolvePath, reject) => {
      let settled = false;
      const leave = () => {
        settled = true;
        if (listener) shared.listeners.delete(listener);
        signal?.removeEventListener('abort', onAbort);
        shared.waiters -= 1;
      };
      const onAbort = () => {
        if (settled) return;
        leave();
        if (shared.waiters === 0) {
          // Nobody wants it any more: stop, leaving the part resumable; new callers start afresh.
          if (jobs.get(declaration.filename) === shared) jobs.delete(declaration.filename);
          shared.controller.abort(new ModelError('aborted', 'cancelled'));
        }
        reject(new ModelError('aborted', `Waiting for ${declaration.filename} was cancelled`));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      shared.promise.then(
        (path) => {
          if (settled) return;
          leave();
          resolvePath(path);
        },
        (error: unknown) => {
          if (settled) return;
          leave();
          reject(error);
        },
      );
    });
  }

  async function ensure(plugin: PluginWithModels, ensureOptions: EnsureOptions = {}): Promise<Record<string, string>> {
    const declarations = (plugin.manifest.inference?.models ?? []).map((declaration) => checkDeclaration(plugin, declaration));
    const results = await Promise.allSettled(declarations.map((declaration) => provisionFile(plugin, declaration, ensureOptions)));
    const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) {
      const first = errorInfo(failures[0]);
      throw new ModelError(first.code, failures.map((failure) => errorInfo(failure).message).join('\n'));
    }
    const env: Record<string, string> = {};
    declarations.forEach((declaration, index) => {
      const result = results[index];
      if (result?.status === 'fulfilled') env[declaration.key] = result.value;
    });
    return env;
  }

  const inventory: InventoryContext = {
    modelsDir,
    stateDir,
    cache,
    lockStaleMs: settings.lockStaleMs,
    stalePartMs: settings.stalePartMs,
    logger,
    activeProgress: (filename) => jobs.get(filename)?.last,
    lastError: (filename) => lastErrors.get(filename),
  };

  return {
    modelsDir,
    offline: settings.offline,
    ensure,
    async pull(plugins, pullOptions = {}) {
      return Promise.all(
        plugins.map(async (plugin): Promise<PullResult> => {
          try {
            return { plugin: plugin.id, ok: true, env: await ensure(plugin, pullOptions), error: null };
          } catch (error) {
            return { plugin: plugin.id, ok: false, env: {}, error: errorInfo(error) };
          }
        }),
      );
    },
    list: async (plugins) => listModels(inventory, await withPins(plugins)),
    verify: async (plugins, verifyOptions) => verifyModels(inventory, await withPins(plugins), verifyOptions),
    gc: (plugins, gcOptions) => collectGarbage(inventory, plugins, gcOptions),
    cleanStaleParts: () => cleanStaleParts(inventory),
    async close() {
      const running = [...jobs.values()];
      for (const job of running) job.controller.abort(new ModelError('aborted', 'The gateway is shutting down'));
      await Promise.allSettled(running.map((job) => job.promise));
    },
  };
}
