import type { ModelDeclaration } from '../plugins/manifest-schema.js';
import { startJob, type Job, type JobContext } from './download-job.js';
import { expectedHash, withPinnedHashes } from './expected-hash.js';
import { waitForJob } from './job-waiter.js';
import { cleanStaleParts, collectGarbage, listModels, verifyModels, type GcResult, type InventoryContext, type ModelStatus, type VerifyResult } from './model-inventory.js';
import { ModelError, modelErrorInfo, type ModelErrorInfo } from './model-error.js';
import { openModelFolder } from './model-folder.js';
import { createPinStore, PENDING_SHA256 } from './model-pins.js';
import { resolveSources } from './model-source.js';
import type { EnsureOptions, PluginWithModels } from './model-types.js';
import type { ModelProgress } from './progress-meter.js';
import { resolveProvisionerSettings, type ModelProvisionerOptions } from './provisioner-settings.js';

export type { GcEntry, GcResult, ModelState, ModelStatus, VerifyResult } from './model-inventory.js';
export type { EnsureOptions, PluginWithModels } from './model-types.js';
export type { ModelProvisionerOptions } from './provisioner-settings.js';

export interface PullResult {
  plugin: string;
  ok: boolean;
  env: Record<string, string>;
  error: ModelErrorInfo | null;
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
  const settings = resolveProvisionerSettings(options);
  const folder = openModelFolder(options.modelsDir);
  const pins = createPinStore(folder.stateDir);
  const jobs = new Map<string, Job>();
  const lastErrors = new Map<string, ModelErrorInfo>();
  const jobContext: JobContext = { settings, folder, pins, bus: options.bus, logger: options.logger, lastErrors };

  /** Joins (or starts) the one job for a file; this caller's signal only withdraws this caller. */
  async function joinJob(plugin: PluginWithModels, declaration: ModelDeclaration, ensureOptions: EnsureOptions): Promise<string> {
    const sources = resolveSources(declaration, plugin.dir, settings.mirrors, options.authorizationFor);
    const sha256 = await expectedHash(pins, declaration);
    let job = jobs.get(declaration.filename);
    if (job && job.sha256 !== sha256) {
      throw new ModelError(
        'conflict',
        `Plugin ${plugin.id} declares ${declaration.filename} with SHA-256 ${sha256 ?? PENDING_SHA256}, but ${[...job.plugins].join(', ')} is fetching it with ${job.sha256 ?? PENDING_SHA256}. ` +
          'Rename the model (its "filename") in one of the manifests so that each plugin gets its own file.',
      );
    }
    const peers = (plugin.modelPeers ?? []).filter((peer) => peer.filename === declaration.filename);
    if (!job) job = track(startJob(jobContext, declaration, sha256, sources, plugin.id, !ensureOptions.quiet, peers));
    const shared = job;
    shared.plugins.add(plugin.id);
    if (!ensureOptions.quiet) shared.logProgress = true;
    return waitForJob(shared, ensureOptions, () => {
      if (jobs.get(declaration.filename) === shared) jobs.delete(declaration.filename);
    });
  }

  /** Registers a job as the file's one running job until it settles. */
  function track(job: Job): Job {
    const { filename } = job.declaration;
    jobs.set(filename, job);
    job.promise
      .finally(() => {
        if (jobs.get(filename) === job) jobs.delete(filename);
      })
      .catch(() => undefined);
    return job;
  }

  async function ensure(plugin: PluginWithModels, ensureOptions: EnsureOptions = {}): Promise<Record<string, string>> {
    const declarations = (plugin.manifest.inference?.models ?? []).map((declaration) => folder.checkDeclaration(plugin, declaration));
    const results = await Promise.allSettled(declarations.map((declaration) => joinJob(plugin, declaration, ensureOptions)));
    const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) {
      const first = modelErrorInfo(failures[0]);
      throw new ModelError(first.code, failures.map((failure) => modelErrorInfo(failure).message).join('\n'));
    }
    const env: Record<string, string> = {};
    declarations.forEach((declaration, index) => {
      const result = results[index];
      if (result?.status === 'fulfilled') env[declaration.key] = result.value;
    });
    return env;
  }

  const inventory: InventoryContext = {
    modelsDir: folder.modelsDir,
    stateDir: folder.stateDir,
    cache: folder.cache,
    lockStaleMs: settings.lockStaleMs,
    stalePartMs: settings.stalePartMs,
    logger: options.logger,
    activeProgress: (filename) => jobs.get(filename)?.last,
    lastError: (filename) => lastErrors.get(filename),
  };

  return {
    modelsDir: folder.modelsDir,
    offline: settings.offline,
    ensure,
    async pull(plugins, pullOptions = {}) {
      return Promise.all(
        plugins.map(async (plugin): Promise<PullResult> => {
          try {
            return { plugin: plugin.id, ok: true, env: await ensure(plugin, pullOptions), error: null };
          } catch (error) {
            return { plugin: plugin.id, ok: false, env: {}, error: modelErrorInfo(error) };
          }
        }),
      );
    },
    list: async (plugins) => listModels(inventory, await withPinnedHashes(pins, plugins)),
    verify: async (plugins, verifyOptions) => verifyModels(inventory, await withPinnedHashes(pins, plugins), verifyOptions),
    gc: (plugins, gcOptions) => collectGarbage(inventory, plugins, gcOptions),
    cleanStaleParts: () => cleanStaleParts(inventory),
    async close() {
      const running = [...jobs.values()];
      for (const job of running) job.controller.abort(new ModelError('aborted', 'The gateway is shutting down'));
      await Promise.allSettled(running.map((job) => job.promise));
    },
  };
}
