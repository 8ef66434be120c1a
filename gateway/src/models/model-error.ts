/**
 * Why a model could not be provided. Codes are stable: the API returns them and the CLI and
 * dashboard switch on them, so add new ones rather than renaming.
 */
export type ModelErrorCode =
  /** The declaration itself is unusable (bad file name, unsupported URL). */
  | 'invalid_declaration'
  /** Two plugins declare the same file name with different hashes. */
  | 'conflict'
  /** Offline mode and the file is not present. */
  | 'offline'
  /** 404/410, or a `file:` source that does not exist. */
  | 'not_found'
  /** 401/403: the source refuses us; retrying will not help. */
  | 'forbidden'
  /** Any other status we do not retry (400, 405, …). */
  | 'http_error'
  /** The bytes (or the size the server announced) do not match the declaration. */
  | 'hash_mismatch'
  /**
   * The source sent (or announced) more bytes than the manifest's `size`, or, without one,
   * more than `models.max_download_bytes`.
   */
  | 'too_large'
  /** The disk ran out, or would leave less free than `models.min_free_bytes`. */
  | 'disk_full'
  | 'permission_denied'
  /** Connection, timeout, stall or 5xx failures that outlasted every retry. */
  | 'network'
  /** Another process took the download lock over while we held it. */
  | 'lock_lost'
  | 'aborted';

/**
 * An error from the model provisioner. `transient` says whether the same request may succeed if
 * tried again; `fatal` says that no other source will do better either (the disk is full,
 * the folder is read-only), so the provisioner stops at once instead of trying mirrors.
 *
 * @example
 *   throw new ModelError('not_found', `HTTP 404 from ${url}`);
 */
export class ModelError extends Error {
  override name = 'ModelError';
  readonly code: ModelErrorCode;
  readonly transient: boolean;
  readonly fatal: boolean;
  /** From a `Retry-After` header: how long the server asked us to wait. */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: ModelErrorCode,
    message: string,
    options: { transient?: boolean; fatal?: boolean; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.transient = options.transient ?? false;
    this.fatal = options.fatal ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Error codes from the OS that mean "a network hiccup; try again". */
const TRANSIENT_NET_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
  'HPE_INVALID_CONSTANT',
]);

/**
 * A file-system failure that no source or retry can get past: a full disk, or a models folder
 * that may not be written (EROFS included: a read-only mount). Null for anything else. Named by
 * `path`, because "disk full" without a place to free space is not actionable. Messages with
 * paths are for the CLI, the log and the dashboard: a page is only ever told the code.
 */
export function folderError(error: unknown, path: string): ModelError | null {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new ModelError('disk_full', `No space left on the device while writing ${path}; free some space and pull again (the partial download is kept and will resume)`, { fatal: true, cause: error });
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new ModelError('permission_denied', `Permission denied writing ${path} (${code}); check that the models folder is writable`, { fatal: true, cause: error });
  }
  return null;
}

/**
 * Maps whatever a download step threw to a `ModelError`, so the retry loop only ever looks at
 * `transient` and `fatal`.
 */
export function toModelError(error: unknown, context: { path: string; url: string }): ModelError {
  if (error instanceof ModelError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = (error as Error | undefined)?.message ?? String(error);
  if ((error as Error | undefined)?.name === 'AbortError' || code === 'ABORT_ERR') {
    return new ModelError('aborted', 'The download was cancelled', { cause: error });
  }
  const folder = folderError(error, context.path);
  if (folder) return folder;
  if (code === 'ENOTFOUND') {
    return new ModelError('network', `Cannot resolve the host of ${context.url} (${message})`, { cause: error });
  }
  if (code !== undefined && TRANSIENT_NET_CODES.has(code)) {
    return new ModelError('network', `${code} while downloading ${context.url}: ${message}`, { transient: true, cause: error });
  }
  // An unknown failure mid-stream is most likely the network; retrying is cheap since we resume.
  return new ModelError('network', `Download from ${context.url} failed: ${message}`, { transient: true, cause: error });
}

/** Maps an HTTP status we did not expect to an error that the retry loop understands. */
export function errorForStatus(status: number, url: string, retryAfterMs: number | undefined): ModelError {
  if (status === 404 || status === 410) return new ModelError('not_found', `HTTP ${status}: ${url} does not exist`);
  if (status === 401 || status === 403) return new ModelError('forbidden', `HTTP ${status}: access to ${url} is denied (does the source need a token?)`);
  if (status === 408 || status === 429 || status >= 500) {
    return new ModelError('network', `HTTP ${status} from ${url}`, { transient: true, retryAfterMs });
  }
  return new ModelError('http_error', `HTTP ${status} from ${url}`);
}

/** What a caller is told about a failure: a stable code and a message (any error that is not a `ModelError` counts as `network`). */
export interface ModelErrorInfo {
  code: ModelErrorCode;
  message: string;
}

export const modelErrorInfo = (error: unknown): ModelErrorInfo =>
  error instanceof ModelError ? { code: error.code, message: error.message } : { code: 'network', message: (error as Error)?.message ?? String(error) };
