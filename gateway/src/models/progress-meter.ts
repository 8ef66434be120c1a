/** A point-in-time view of one model file's provisioning, as callers, logs and events see it. */
export interface ModelProgress {
  filename: string;
  /** Plugins waiting for this file (several may share it). */
  plugins: string[];
  state: 'verifying' | 'downloading' | 'ready' | 'failed';
  receivedBytes: number;
  totalBytes: number | null;
  bytesPerSecond: number;
  /** Null while the total or the speed is unknown. */
  etaSeconds: number | null;
  error?: string;
}

/**
 * Speed over a sliding window, so the ETA follows the current rate rather than the average since
 * the start (which lies after a resume or a stall).
 */
export function createSpeedMeter(windowMs = 5000, now: () => number = Date.now) {
  const samples: Array<{ at: number; bytes: number }> = [];
  return {
    sample(bytes: number): number {
      const at = now();
      samples.push({ at, bytes });
      while (samples.length > 2 && (samples[0]?.at ?? at) < at - windowMs) samples.shift();
      const first = samples[0];
      if (!first || at - first.at < 200) return 0;
      return Math.max(0, ((bytes - first.bytes) * 1000) / (at - first.at));
    },
    reset() {
      samples.length = 0;
    },
  };
}

/** Binary units, as file managers and `ls -h` show them. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function etaSeconds(received: number, total: number | null, bytesPerSecond: number): number | null {
  if (total === null || bytesPerSecond <= 0) return null;
  return Math.max(0, (total - received) / bytesPerSecond);
}

/** "120.0 MiB / 1.00 GiB (11.7%), 95.3 MiB/s, ETA 9s" — the shape of every progress line. */
export function describeProgress(progress: Pick<ModelProgress, 'receivedBytes' | 'totalBytes' | 'bytesPerSecond' | 'etaSeconds'>): string {
  const parts = [
    progress.totalBytes !== null
      ? `${formatBytes(progress.receivedBytes)} / ${formatBytes(progress.totalBytes)} (${((100 * progress.receivedBytes) / Math.max(1, progress.totalBytes)).toFixed(1)}%)`
      : formatBytes(progress.receivedBytes),
  ];
  if (progress.bytesPerSecond > 0) parts.push(`${formatBytes(progress.bytesPerSecond)}/s`);
  if (progress.etaSeconds !== null) parts.push(`ETA ${formatDuration(progress.etaSeconds)}`);
  return parts.join(', ');
}
