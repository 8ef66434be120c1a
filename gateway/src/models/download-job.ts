import type { EventBus } from '../events/event-bus.js';
import type { ModelDeclaration } from '../plugins/manifest-schema.js';
import type { ModelPeer } from '../plugins/plugin-registry.js';
import { createJobProgress, type ProgressState } from './job-progress.js';
import { modelErrorInfo, type ModelErrorInfo } from './model-error.js';
import type { ModelSource } from './model-source.js';
import { provisionFile, type FileJob, type ProvisionContext } from './provision-under-lock.js';

/** One file's download in this process, shared by every caller that needs the file. */
export interface Job extends ProgressState, FileJob {
  promise: Promise<string>;
  /** Callers still waiting; the job is stopped when the last one withdraws. */
  waiters: number;
}

export interface JobContext extends ProvisionContext {
  bus: EventBus | undefined;
  /** The last failure per file in this process, cleared by a success (read by the inventory). */
  lastErrors: Map<string, ModelErrorInfo>;
}

/** Starts provisioning one file; the job publishes `ready` or `failed` when it settles. */
export function startJob(
  ctx: JobContext,
  declaration: ModelDeclaration,
  sha256: string | null,
  sources: ModelSource[],
  plugin: string,
  logProgress: boolean,
  peers: ModelPeer[] = [],
): Job {
  const { filename, size } = declaration;
  const state: ProgressState = {
    plugins: new Set([plugin]),
    listeners: new Set(),
    logProgress,
    published: false,
    last: { filename, plugins: [plugin], state: 'verifying', receivedBytes: 0, totalBytes: size ?? null, bytesPerSecond: 0, etaSeconds: null },
  };
  const job = Object.assign(state, {
    declaration,
    sha256,
    sources,
    peers,
    controller: new AbortController(),
    progress: createJobProgress(state, filename, ctx),
    waiters: 0,
    promise: Promise.resolve(''),
  });
  const forWhom = () => [...job.plugins].join(', ');
  job.promise = provisionFile(ctx, job).then(
    (path) => {
      ctx.lastErrors.delete(filename);
      job.progress.publish({ ...job.last, plugins: [...job.plugins], state: 'ready', receivedBytes: job.last.totalBytes ?? job.last.receivedBytes, bytesPerSecond: 0, etaSeconds: 0 }, true);
      return path;
    },
    (error: unknown) => {
      const info = modelErrorInfo(error);
      ctx.lastErrors.set(filename, info);
      if (info.code !== 'aborted') ctx.logger?.error(`Model ${filename} for ${forWhom()} failed: ${info.message}`);
      job.progress.publish({ ...job.last, plugins: [...job.plugins], state: 'failed', bytesPerSecond: 0, etaSeconds: null, error: info.message }, true);
      throw error;
    },
  );
  return job;
}
