import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, stat, truncate, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { writeFileAtomic } from '../data/write-file-atomic.js';
import { parseRetryAfter } from '../net/retry-after.js';
import { createByteGuard } from './byte-guard.js';
import { hashFile } from './hash-file.js';
import { HashingSink } from './hashing-sink.js';
import { httpGet } from './http-get.js';
import { errorForStatus, ModelError, toModelError } from './model-error.js';
import type { ModelSource } from './model-source.js';

/** Opens the `.part` file for writing at `start`; injectable so tests can simulate a full disk. */
export type CreatePartStream = (path: string, options: { start: number }) => Writable;

export const createPartFileStream: CreatePartStream = (path, { start }) =>
  createWriteStream(path, { flags: start > 0 ? 'r+' : 'w', start, highWaterMark: 1 << 20 });

/** What we knew about the source when the `.part` was started: needed to resume it safely. */
const partMetaSchema = z.object({
  sha256: z.string(),
  source: z.string(),
  etag: z.string().optional(),
  lastModified: z.string().optional(),
  totalBytes: z.number().nullable(),
});
export type PartMeta = z.infer<typeof partMetaSchema>;

export interface DownloadRequest {
  filename: string;
  /** Final absolute path; only ever created by an atomic rename of a verified `.part`. */
  target: string;
  partPath: string;
  /** Sidecar holding `PartMeta` for the `.part`. */
  metaPath: string;
  /** The expected SHA-256, or null to accept any bytes and report their hash (a pending declaration's first download). */
  sha256: string | null;
  size: number | undefined;
  /** The most bytes accepted when `size` is not declared (`models.max_download_bytes`). */
  maxBytes: number;
  sources: ModelSource[];
  /** Who wants the file ("p", "a, b"), for messages. */
  forWhom: () => string;
}

export interface DownloadProgress {
  phase: 'verifying' | 'downloading';
  receivedBytes: number;
  totalBytes: number | null;
}

export interface DownloadOptions {
  /** Extra attempts per source after a transient failure. */
  retries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Upper bound on how long a `Retry-After` may make us wait. */
  retryAfterMaxMs: number;
  /** No byte for this long (including while waiting for headers) counts as a transient failure. */
  stallTimeoutMs: number;
  /**
   * Low-speed limit, as curl's `--speed-limit`/`--speed-time`: an attempt whose bytes average less
   * than `lowSpeedBytesPerSecond` over any `lowSpeedWindowMs` fails (for this source; the part is kept).
   */
  lowSpeedBytesPerSecond: number;
  lowSpeedWindowMs: number;
  signal: AbortSignal;
  createPartStream: CreatePartStream;
  /**
   * Rejects (with a fatal `disk_full`) when the disk cannot take `bytesToCome` more and still keep
   * its reserve; called before the first request, when a source announces its size, and every
   * `spaceCheckBytes` while bytes arrive (with 0 when the size is unknown).
   */
  ensureSpace: (bytesToCome: number) => Promise<void>;
  spaceCheckBytes: number;
  /** Called often (per chunk); throttle on the receiving side. */
  onProgress: (progress: DownloadProgress) => void;
  /** Human-readable notes worth a log line (restarts, retries). */
  onNote: (level: 'info' | 'warn', message: string) => void;
  onSourceStart?: (source: ModelSource, offset: number, totalBytes: number | null) => void;
}

interface PartState {
  hash: Hash;
  /** Bytes on disk in the `.part`, all of them already fed to `hash`. */
  offset: number;
  meta: PartMeta | undefined;
}

const freshState = (): PartState => ({ hash: createHash('sha256'), offset: 0, meta: undefined });

async function readPartMeta(path: string): Promise<PartMeta | undefined> {
  try {
    const parsed = partMetaSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

async function discardPart(request: DownloadRequest): Promise<void> {
  await unlink(request.partPath).catch(() => undefined);
  await unlink(request.metaPath).catch(() => undefined);
}

/**
 * Picks up a `.part` left by a crash or Ctrl-C: re-hashes its bytes so the final check still
 * covers the whole file, or discards it when it cannot belong to this declaration.
 */
async function loadPart(request: DownloadRequest, options: DownloadOptions): Promise<PartState> {
  const stats = await stat(request.partPath).catch(() => undefined);
  if (!stats) return freshState();
  const meta = await readPartMeta(request.metaPath);
  const tooBig = stats.size > byteLimit(request);
  if (stats.size === 0 || !meta || meta.sha256 !== partKey(request) || tooBig) {
    if (stats.size > 0) options.onNote('info', `Discarding ${request.partPath}: it does not belong to this declaration`);
    await discardPart(request);
    return freshState();
  }
  options.onProgress({ phase: 'verifying', receivedBytes: 0, totalBytes: stats.size });
  const { hash, bytes } = await hashFile(request.partPath, {
    length: stats.size,
    signal: options.signal,
    onBytes: (receivedBytes) => options.onProgress({ phase: 'verifying', receivedBytes, totalBytes: stats.size }),
  });
  options.onNote('info', `Resuming ${request.filename} from ${bytes} bytes already downloaded`);
  return { hash, offset: bytes, meta };
}

function parseContentRange(value: string | undefined): { start: number; end: number; total: number | null } | undefined {
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value?.trim() ?? '');
  if (!match) return undefined;
  return { start: Number(match[1]), end: Number(match[2]), total: match[3] === '*' ? null : Number(match[3]) };
}

/** If-Range needs a strong validator: a weak ETag would make the server ignore the range. */
function ifRangeValidator(meta: PartMeta): string | undefined {
  if (meta.etag && !meta.etag.startsWith('W/')) return meta.etag;
  return meta.lastModified;
}

/** A timer that fails the transfer when no byte has arrived for `ms`. */
function createStallWatchdog(ms: number, describe: () => string) {
  let timer: NodeJS.Timeout | undefined;
  let destroy: ((error: Error) => void) | undefined;
  const fire = () =>
    destroy?.(new ModelError('network', `No data for ${Math.round(ms / 100) / 10}s from ${describe()} (stalled)`, { transient: true }));
  return {
    target(next: (error: Error) => void) {
      destroy = next;
    },
    touch() {
      clearTimeout(timer);
      timer = setTimeout(fire, ms);
    },
    stop() {
      clearTimeout(timer);
    },
  };
}

interface OpenedSource {
  body: Readable;
  totalBytes: number | null;
  meta: PartMeta;
}

async function resetPart(request: DownloadRequest, state: PartState): Promise<void> {
  Object.assign(state, freshState());
  await discardPart(request);
}

/** What a part's sidecar records it was fetched for: the expected hash, or "pending". */
const partKey = (request: DownloadRequest): string => request.sha256 ?? 'pending';

/** The most bytes the part may ever hold: the declared size, else `models.max_download_bytes`. */
const byteLimit = (request: DownloadRequest): number => request.size ?? request.maxBytes;

/** The error for a source that sends (or, `announced`, says it will send) more than `byteLimit`. */
function tooLarge(request: DownloadRequest, display: string, announced?: number): ModelError {
  const who = `${request.filename} (for ${request.forWhom()})`;
  const raise = '. Declare its size in the manifest, or raise models.max_download_bytes';
  const stopped = '; stopped there and discarded the partial file';
  const max = `models.max_download_bytes (${request.maxBytes} bytes)`;
  const message =
    request.size !== undefined
      ? `The manifest declares ${request.size} bytes for ${who}, but ${display} sent more${stopped}`
      : announced !== undefined
        ? `${who} declares no size, and ${display} announces ${announced} bytes, more than ${max}${raise}`
        : `${who} declares no size, and ${display} sent more than ${max}${stopped}${raise}`;
  return new ModelError('too_large', message);
}

function checkAnnouncedSize(request: DownloadRequest, total: number | null, display: string, body: Readable): void {
  if (total === null) return;
  if (request.size === undefined && total <= request.maxBytes) return;
  if (request.size === total) return;
  body.destroy();
  if (request.size === undefined) throw tooLarge(request, display, total);
  throw new ModelError(
    'hash_mismatch',
    `Size mismatch for ${request.filename}: ${display} has ${total} bytes, the manifest declares ${request.size}`,
  );
}

async function openHttpSource(
  source: Extract<ModelSource, { kind: 'http' }>,
  request: DownloadRequest,
  state: PartState,
  options: DownloadOptions,
  watchdog: ReturnType<typeof createStallWatchdog>,
): Promise<OpenedSource> {
  // At most two rounds: a resume attempt, then (if the server cannot resume) a clean start.
  for (let round = 0; ; round += 1) {
    const offset = state.offset;
    const headers: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': 'aiplugs-model-provisioner' };
    const sameSource = state.meta?.source === source.display;
    if (offset > 0) {
      headers.range = `bytes=${offset}-`;
      const validator = sameSource && state.meta ? ifRangeValidator(state.meta) : undefined;
      if (validator) headers['if-range'] = validator;
    }
    watchdog.touch();
    const response = await httpGet(source.url, { headers, authorization: source.authorization, onRequest: (destroy) => watchdog.target(destroy) });
    const { status, body } = response;
    watchdog.target((error) => body.destroy(error));
    const etag = typeof response.headers.etag === 'string' ? response.headers.etag : undefined;
    const lastModified = response.headers['last-modified'];
    const restart = async (reason: string) => {
      body.destroy();
      options.onNote('warn', `Restarting ${request.filename} from 0: ${reason}`);
      await resetPart(request, state);
    };
    let totalBytes: number | null;
    if (status === 206) {
      const range = parseContentRange(response.headers['content-range']);
      const validatorChanged = offset > 0 && sameSource && state.meta?.etag !== undefined && etag !== undefined && etag !== state.meta.etag;
      if (!range || range.start !== offset || validatorChanged) {
        if (round > 0) throw new ModelError('http_error', `${source.display} answered a plain request with an unusable partial response`, { transient: true });
        await restart(
          validatorChanged
            ? `${source.display} changed (ETag ${state.meta?.etag} → ${etag})`
            : `${source.display} sent Content-Range "${response.headers['content-range'] ?? '(none)'}" for a request from byte ${offset}`,
        );
        continue;
      }
      totalBytes = range.total;
    } else if (status === 200) {
      if (offset > 0) {
        options.onNote('warn', `Restarting ${request.filename} from 0: ${source.display} ${headers['if-range'] ? 'changed or ignores ranges' : 'ignores ranges'} (HTTP 200)`);
        // The 200 body is the whole file: use it rather than asking again.
        await resetPart(request, state);
      }
      const length = response.headers['content-length'];
      totalBytes = length !== undefined && /^\d+$/.test(length) ? Number(length) : null;
    } else if (status === 416 && offset > 0 && round === 0) {
      await restart(`${source.display} cannot serve from byte ${offset} (HTTP 416)`);
      continue;
    } else {
      body.resume();
      throw errorForStatus(status, source.display, parseRetryAfter(typeof response.headers['retry-after'] === 'string' ? response.headers['retry-after'] : undefined));
    }
    checkAnnouncedSize(request, totalBytes, source.display, body);
    const meta: PartMeta = { sha256: partKey(request), source: source.display, totalBytes };
    if (etag !== undefined) meta.etag = etag;
    if (lastModified !== undefined) meta.lastModified = lastModified;
    return { body, totalBytes, meta };
  }
}

async function openFileSource(source: Extract<ModelSource, { kind: 'file' }>, request: DownloadRequest, state: PartState, options: DownloadOptions): Promise<OpenedSource> {
  let stats;
  try {
    stats = await stat(source.path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ModelError('not_found', `${source.display} does not exist`);
    throw new ModelError('forbidden', `Cannot read ${source.display} (${code ?? (error as Error).message})`);
  }
  if (!stats.isFile()) throw new ModelError('not_found', `${source.display} is not a file`);
  const validator = `${stats.size}:${stats.mtimeMs}`;
  const resumable = state.meta?.source === source.display && state.meta.lastModified === validator && state.offset <= stats.size;
  if (state.offset > 0 && !resumable) {
    options.onNote('info', `Restarting ${request.filename} from 0: ${source.display} differs from the partial copy`);
    await resetPart(request, state);
  }
  const body = createReadStream(source.path, { start: state.offset, highWaterMark: 1 << 20 });
  checkAnnouncedSize(request, stats.size, source.display, body);
  return { body, totalBytes: stats.size, meta: { sha256: partKey(request), source: source.display, lastModified: validator, totalBytes: stats.size } };
}

/**
 * Fails the transfer when fewer than `bytesPerSecond` × window arrived in a whole window: a source
 * that drips a few bytes now and then never trips the stall timer but would hold every caller
 * waiting for the model for hours. Not transient: retrying the same source would drip again, so
 * the next mirror is tried and the part is kept for a later resume.
 */
function createLowSpeedGuard(options: DownloadOptions, request: DownloadRequest, source: ModelSource, offset: () => number, destroy: (error: Error) => void) {
  if (options.lowSpeedBytesPerSecond <= 0 || options.lowSpeedWindowMs <= 0) return { stop: () => undefined };
  const minimum = (options.lowSpeedBytesPerSecond * options.lowSpeedWindowMs) / 1000;
  let windowStart = offset();
  const timer = setInterval(() => {
    const received = offset() - windowStart;
    windowStart = offset();
    if (received >= minimum) return;
    const origin = source.kind === 'http' ? new URL(String(source.url)).origin : source.display;
    const seconds = Math.round(options.lowSpeedWindowMs / 100) / 10;
    const rate = Math.round((received * 1000) / options.lowSpeedWindowMs);
    destroy(
      new ModelError(
        'network',
        `Download of ${request.filename} from ${origin} averaged ${rate} B/s over ${seconds}s, below the minimum of ${options.lowSpeedBytesPerSecond} B/s (low-speed limit); ` +
          `stopped at byte ${offset()}, the partial file is kept and will resume`,
      ),
    );
  }, options.lowSpeedWindowMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** One attempt: from `state.offset` to the end of the source, appending to the `.part`. */
async function transferOnce(source: ModelSource, request: DownloadRequest, state: PartState, options: DownloadOptions): Promise<void> {
  const watchdog = createStallWatchdog(options.stallTimeoutMs, () => source.display);
  let sink: HashingSink | undefined;
  let body: Readable | undefined;
  let lowSpeed: { stop(): void } | undefined;
  try {
    const opened =
      source.kind === 'http' ? await openHttpSource(source, request, state, options, watchdog) : await openFileSource(source, request, state, options);
    body = opened.body;
    watchdog.target((error) => opened.body.destroy(error));
    // What is yet to reach the disk: the rest of a known total, or (size unknown) what has
    // arrived but is still buffered on its way to the part.
    const bytesToCome = (received: number) => Math.max(0, (opened.totalBytes ?? received) - state.offset);
    await options.ensureSpace(bytesToCome(state.offset));
    // The sidecar is written before any byte so that a crash at any later point leaves a resumable part.
    await writeFileAtomic(request.metaPath, `${JSON.stringify(opened.meta)}\n`);
    state.meta = opened.meta;
    options.onSourceStart?.(source, state.offset, opened.totalBytes);
    // Bytes past `offset` may exist if a write landed after its acknowledgement was lost: drop them.
    if (state.offset > 0) await truncate(request.partPath, state.offset);
    const report = () => options.onProgress({ phase: 'downloading', receivedBytes: state.offset, totalBytes: opened.totalBytes });
    sink = new HashingSink(options.createPartStream(request.partPath, { start: state.offset }), state.hash, (bytes) => {
      state.offset += bytes;
      watchdog.touch();
      report();
    });
    report();
    // The watchdog is fed by bytes reaching the disk: if neither the network nor the disk moves
    // for `stallTimeoutMs`, this attempt is stuck either way.
    watchdog.touch();
    lowSpeed = createLowSpeedGuard(options, request, source, () => state.offset, (error) => opened.body.destroy(error));
    const guard = createByteGuard({
      offset: state.offset,
      limit: byteLimit(request),
      tooLarge: () => tooLarge(request, source.display),
      checkEvery: options.spaceCheckBytes,
      check: (offset) => options.ensureSpace(bytesToCome(offset)),
    });
    await pipeline(opened.body, guard, sink, { signal: options.signal });
    if (opened.totalBytes !== null && state.offset !== opened.totalBytes) {
      throw new ModelError('network', `${source.display} ended after ${state.offset} of ${opened.totalBytes} bytes`, { transient: true });
    }
  } finally {
    watchdog.stop();
    lowSpeed?.stop();
    if (body && !body.destroyed) body.destroy();
    if (sink) {
      if (!sink.destroyed && !sink.writableFinished) sink.destroy();
      await sink.innerClosed;
    }
  }
}

/** fsync the data, rename into place, fsync the folder: the file is either absent or complete. */
async function commitPart(request: DownloadRequest): Promise<void> {
  const handle = await open(request.partPath, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(request.partPath, request.target);
  await unlink(request.metaPath).catch(() => undefined);
  try {
    const dir = await open(dirname(request.target), 'r');
    await dir.sync().finally(() => dir.close());
  } catch {
    // Not every platform can fsync a directory; the rename itself is still atomic.
  }
}

function backoffMs(attempt: number, options: DownloadOptions): number {
  const base = Math.min(options.retryMaxMs, options.retryBaseMs * 2 ** (attempt - 1));
  return Math.round(base * (0.5 + Math.random() * 0.5));
}

/**
 * Downloads one model file into `request.target` via `request.partPath`, trying each source in
 * order. The caller must hold the file's cross-process lock. Streams in one pass (hash while
 * writing), resumes a left-over part, retries transient failures with exponential backoff from
 * where they stopped, and only renames after the SHA-256 matched (or, for `sha256: null`, once the
 * file is complete: the caller pins the hash it gets back).
 *
 * @example
 *   await downloadModelFile({ filename, target, partPath: `${target}.part`, metaPath, sha256, size, sources }, options);
 */
export async function downloadModelFile(request: DownloadRequest, options: DownloadOptions): Promise<{ source: ModelSource; bytes: number; sha256: string }> {
  if (request.sources.length === 0) throw new ModelError('invalid_declaration', `No source to download ${request.filename} from`);
  await mkdir(dirname(request.partPath), { recursive: true });
  await mkdir(dirname(request.metaPath), { recursive: true });
  const state = await loadPart(request, options);
  // A part that already holds every declared byte needs no room; anything else needs at least the reserve.
  if (request.size === undefined || state.offset < request.size) await options.ensureSpace(request.size !== undefined ? request.size - state.offset : 0);
  /** How each source finally failed. */
  const failures: ModelError[] = [];
  // Every source gets a turn before any is retried: a source that fails before sending a byte
  // (refused, DNS, 5xx) hands over to the next one at once, so an offline machine reaches a local
  // mirror without first sitting through the official URL's backoff.
  const pending = request.sources.map((source) => ({ source, attempts: 0, seenMismatches: new Set<string>() }));
  for (let round = 0; pending.length > 0; round += 1) {
    if (round > 0) {
      const delayMs = backoffMs(round, options);
      options.onNote('warn', `Every source failed for now; retrying in ${(delayMs / 1000).toFixed(1)}s from byte ${state.offset}`);
      await sleep(delayMs, undefined, { signal: options.signal }).catch(() => undefined);
    }
    for (const entry of [...pending]) {
      const { source, seenMismatches } = entry;
      for (;;) {
        const offsetBefore = state.offset;
        try {
          options.signal.throwIfAborted();
          // A part that already holds every byte (a crash between the last write and the rename) needs no request.
          const expectedTotal = request.size ?? state.meta?.totalBytes ?? undefined;
          const complete = expectedTotal !== undefined && state.meta !== undefined && state.offset === expectedTotal;
          if (!complete) await transferOnce(source, request, state, options);
          const actual = state.hash.copy().digest('hex');
          if (request.sha256 === null || actual === request.sha256) {
            await commitPart(request);
            return { source, bytes: state.offset, sha256: actual };
          }
          await resetPart(request, state);
          // A server that sends the same wrong bytes twice will keep doing so: stop retrying it.
          const repeat = seenMismatches.has(actual);
          seenMismatches.add(actual);
          throw new ModelError('hash_mismatch', `SHA-256 mismatch for ${request.filename} from ${source.display}: expected ${request.sha256}, got ${actual}`, {
            transient: !repeat,
          });
        } catch (raw) {
          if (options.signal.aborted) throw new ModelError('aborted', `Download of ${request.filename} was cancelled; the partial file is kept and will resume`, { cause: raw });
          const error = toModelError(raw, { path: request.partPath, url: source.display });
          if (error.fatal || error.code === 'aborted') throw error;
          // A part past its bound can never become the file; it must not linger either.
          if (error.code === 'too_large') await resetPart(request, state);
          if (!error.transient || entry.attempts >= options.retries) {
            failures.push(error);
            pending.splice(pending.indexOf(entry), 1);
            break;
          }
          entry.attempts += 1;
          const madeProgress = state.offset > offsetBefore;
          if (!madeProgress && pending.length > 1) {
            options.onNote('warn', `${error.message}; trying the next source first`);
            break;
          }
          const delayMs = error.retryAfterMs !== undefined ? Math.min(error.retryAfterMs, options.retryAfterMaxMs) : backoffMs(entry.attempts, options);
          options.onNote('warn', `${error.message}; retry ${entry.attempts}/${options.retries} in ${(delayMs / 1000).toFixed(1)}s from byte ${state.offset}`);
          await sleep(delayMs, undefined, { signal: options.signal }).catch(() => undefined);
        }
      }
    }
  }
  // The code is that of a reported failure (a wrong file says more than a flaky mirror).
  const worst = failures.find((failure) => failure.code === 'hash_mismatch') ?? failures[0];
  const summary = failures.length === 1 ? failures[0]?.message : failures.map((failure, i) => `(${i + 1}) ${failure.message}`).join('; ');
  throw new ModelError(worst?.code ?? 'network', `Could not download ${request.filename}: ${summary}`, { cause: worst });
}
