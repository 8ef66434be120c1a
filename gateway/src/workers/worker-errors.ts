import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ApiError } from '../api/api-error.js';

/** A plugin backend's `run` raised: `type` is the exception's (its class or `name`), for callers that tell failures apart. */
export class BackendRaisedError extends ApiError {
  constructor(
    plugin: string,
    readonly type: string,
    message: string,
  ) {
    super(500, 'backend_error', `Plugin "${plugin}" backend raised ${type}: ${message}`);
  }
}

/**
 * The errors the worker manager answers with. Each has a stable `code` (the API's error body
 * carries it) and the status a caller should see. The router's fallback decides on the code.
 */
export const workerErrors = {
  /** The bounded queue is full: come back later (HTTP 503, as the issue asks). */
  busy: (plugin: string, limit: number, whose?: string) =>
    new ApiError(503, 'worker_busy', `Plugin "${plugin}" is busy (${limit} request(s) ${whose ? `of ${whose} ` : ''}running or queued); try again shortly`),
  /** Crash loop: the plugin stays off until its files change or the user resets it. */
  failed: (plugin: string, reason: string) =>
    new ApiError(503, 'worker_failed', `Plugin "${plugin}" is stopped after repeated crashes (reset it with POST /api/workers/${plugin}/reset, or change its files): ${reason}`),
  /** Calls from this page's site crashed the worker repeatedly (site-crashes.ts): only that site is refused. */
  failedForSite: (plugin: string) => new ApiError(503, 'worker_failed', `Plugin "${plugin}" refuses this site's calls for a while: they made its backend crash repeatedly`),
  startFailed: (plugin: string, reason: string) => new ApiError(502, 'worker_start_failed', `Plugin "${plugin}" backend failed to start: ${reason}`),
  crashed: (plugin: string, reason: string) => new ApiError(502, 'worker_crashed', `Plugin "${plugin}" backend crashed while answering: ${reason}`),
  restarted: (plugin: string, why: string) => new ApiError(502, 'worker_restarted', `Plugin "${plugin}" backend was restarted (${why}) before it answered`),
  /** The watchdog stopped the worker: its process tree's resident memory passed `workers.max_memory_mb`. */
  memoryExceeded: (plugin: string, capMb: number, usedMb: number) =>
    new ApiError(502, 'worker_memory_exceeded', `Plugin "${plugin}" backend used ${usedMb} MB of memory, over its ${capMb} MB cap (workers.max_memory_mb); its worker was stopped`),
  /** The watchdog stopped the worker: one call used more CPU time than `workers.request_cpu_seconds`. */
  cpuExceeded: (plugin: string, budgetSeconds: number) =>
    new ApiError(504, 'worker_cpu_exceeded', `Plugin "${plugin}" call used more than ${budgetSeconds} s of CPU time (workers.request_cpu_seconds); its worker was stopped`),
  /**
   * One result or streamed chunk over the worker answer limit: skipped, the call fails, the worker
   * stays up and nothing counts as a crash (a page growing a plugin's output must not disable it).
   */
  resultTooLarge: (plugin: string, limitBytes: number) =>
    new ApiError(502, 'result_too_large', `Plugin "${plugin}" backend answered with more than ${formatBytes(limitBytes)}, the most a worker may send in one result or chunk; the call failed and the worker stays up`),
  timeout: (plugin: string, seconds: number) => new ApiError(504, 'worker_timeout', `Plugin "${plugin}" did not answer within ${seconds} s; its worker was restarted`),
  /** `run` raised: the exception's type and message, verbatim. */
  backend: (plugin: string, type: string, message: string) => new BackendRaisedError(plugin, type, message),
  noLocalBackend: (plugin: string) => new ApiError(501, 'no_local_backend', `Plugin "${plugin}" has no local backend (inference.local_entry)`),
  unsupported: (plugin: string, reason: string) => new ApiError(501, 'unsupported_backend', `Plugin "${plugin}": ${reason}`),
  modelsUnavailable: (plugin: string, reason: string) => new ApiError(503, 'models_unavailable', `Plugin "${plugin}" models are not available: ${reason}`),
  shuttingDown: () => new ApiError(503, 'shutting_down', 'The gateway is shutting down'),
  /** The caller went away. Nobody reads this answer; 499 is the usual "client closed request". */
  cancelled: () => new ApiError(499 as ContentfulStatusCode, 'cancelled', 'The request was cancelled by the caller'),
};

/** "64 MiB", "256 KiB", "1000 bytes": a limit as a person reads it. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** Keeps crash reports readable: the last lines of stderr, indented under the message. */
export function withStderr(message: string, stderr: string[], lines = 10): string {
  const tail = stderr.filter((line) => line.trim()).slice(-lines);
  return tail.length > 0 ? `${message}\n  stderr:\n${tail.map((line) => `    ${line}`).join('\n')}` : message;
}
