import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../events/logger.js';
import type { DownloadProgress } from './download-file.js';
import { createSpeedMeter, describeProgress, etaSeconds, type ModelProgress } from './progress-meter.js';
import type { ProvisionerSettings } from './provisioner-settings.js';

/** The part of a download job that progress is published to and read from. */
export interface ProgressState {
  plugins: Set<string>;
  listeners: Set<(progress: ModelProgress) => void>;
  logProgress: boolean;
  last: ModelProgress;
  /** Whether `last` is real progress yet (a late joiner is shown it at once). */
  published: boolean;
}

export interface ProgressContext {
  settings: Pick<ProvisionerSettings, 'progressIntervalMs' | 'logIntervalMs'>;
  bus: EventBus | undefined;
  logger: Logger | undefined;
}

export interface JobProgress {
  /** Records `progress` and fans it out (listeners, `model-progress` events, the log), throttled unless `force`. */
  publish(progress: ModelProgress, force: boolean): void;
  /** Turns a download step's raw progress into published progress; a phase change is always published. */
  onProgress(progress: DownloadProgress): void;
}

/** Progress fan-out of one file's download job, throttled per file. */
export function createJobProgress(job: ProgressState, filename: string, ctx: ProgressContext): JobProgress {
  const speed = createSpeedMeter();
  let lastPhase: ModelProgress['state'] | undefined;
  let lastEventAt = 0;
  let lastLogAt = 0;

  const emitEvents = (progress: ModelProgress) => {
    for (const id of progress.plugins) {
      ctx.bus?.emit({
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
  };

  const fanOut = (progress: ModelProgress, now: number) => {
    lastEventAt = now;
    for (const listener of job.listeners) listener(progress);
    emitEvents(progress);
    if (job.logProgress && progress.state === 'downloading' && now - lastLogAt >= ctx.settings.logIntervalMs) {
      lastLogAt = now;
      ctx.logger?.info(`Downloading model ${filename} for ${[...job.plugins].join(', ')}… ${describeProgress(progress)}`);
    }
  };

  // Progress held back by the interval goes out when it ends, whether or not more bytes come: a
  // burst and then a stall otherwise left every listener on the count before the burst.
  let held: NodeJS.Timeout | undefined;
  const publish = (progress: ModelProgress, force: boolean) => {
    job.last = progress;
    job.published = true;
    const now = Date.now();
    if (!force && now - lastEventAt < ctx.settings.progressIntervalMs) {
      held ??= setTimeout(() => {
        held = undefined;
        fanOut(job.last, Date.now());
      }, lastEventAt + ctx.settings.progressIntervalMs - now).unref();
      return;
    }
    clearTimeout(held);
    held = undefined;
    fanOut(progress, now);
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

  return { publish, onProgress };
}
