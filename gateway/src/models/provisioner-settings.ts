import type { GatewayConfig } from '../config/config-schema.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../events/logger.js';
import { createPartFileStream, type CreatePartStream } from './download-file.js';
import { freeSpaceOf, type FreeSpaceProbe } from './free-space.js';
import { parseMirrorSpec } from './mirror-rewrite.js';
import type { AuthorizationFor } from './model-source.js';

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
  /**
   * Low-speed limit (curl's `--speed-limit`/`--speed-time`): an attempt that averages less than
   * this many bytes per second over `lowSpeedWindowMs` fails for its source, keeping the part.
   * Default 10 240 (10 KiB/s); 0 turns it off. Config: `models.low_speed_bytes_per_second`.
   */
  lowSpeedBytesPerSecond?: number;
  /** The window of the low-speed limit. Default 60 000 (one minute, so a brief dip passes). Config: `models.low_speed_seconds`. */
  lowSpeedWindowMs?: number;
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

const GiB = 1024 * 1024 * 1024;

/** The provisioner options the config's `models` section sets (the gateway and `aiplugs models` alike). */
export function provisionerOptionsFromConfig(models: GatewayConfig['models']) {
  return {
    offline: models.offline,
    mirror: models.mirror,
    stalePartHours: models.stale_part_hours,
    maxDownloadBytes: models.max_download_bytes,
    minFreeBytes: models.min_free_bytes,
    lowSpeedBytesPerSecond: models.low_speed_bytes_per_second,
    lowSpeedWindowMs: models.low_speed_seconds * 1000,
  } satisfies Partial<ModelProvisionerOptions>;
}

export type ProvisionerSettings = ReturnType<typeof resolveProvisionerSettings>;

/** The options with their documented defaults filled in; a bad mirror spec throws here. */
export function resolveProvisionerSettings(options: ModelProvisionerOptions) {
  return {
    offline: options.offline ?? false,
    mirrors: parseMirrorSpec(options.mirror ?? null),
    stalePartMs: (options.stalePartHours ?? 168) * 3_600_000,
    stallTimeoutMs: options.stallTimeoutMs ?? 30_000,
    lowSpeedBytesPerSecond: options.lowSpeedBytesPerSecond ?? 10_240,
    lowSpeedWindowMs: options.lowSpeedWindowMs ?? 60_000,
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
}
