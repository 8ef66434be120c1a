import { once } from 'node:events';
import { join } from 'node:path';
import { createStream } from 'rotating-file-stream';

/**
 * The gateway log on disk: `<data dir>/logs/gateway.log`, rotated by size the logrotate way
 * (`gateway.log.1` is the newest old one, `gateway.log.<maxFiles>` the oldest kept). Lines arrive
 * already redacted (events/logger.ts), so no secret reaches the file either.
 *
 * Why rotating-file-stream: rotating while lines keep coming (buffering them, renaming the
 * older files in order, reopening) is a solved problem with edge cases of its own; the library
 * is small, has no dependencies and is kept up to date.
 */
export interface LogFile {
  readonly path: string;
  /** Appends one line (a newline is added). Never throws: a full disk must not stop the gateway. */
  write(line: string): void;
  /** Flushes and closes the file. */
  close(): Promise<void>;
}

export interface LogFileOptions {
  dir: string;
  /** Size at which the current file is rotated. */
  maxFileBytes: number;
  /** Rotated files kept besides the current one. */
  maxFiles: number;
  /** Told once if the file cannot be written (the log goes on on stderr). */
  onError: (error: Error) => void;
}

export function openLogFile(options: LogFileOptions): LogFile {
  const stream = createStream('gateway.log', { path: options.dir, size: `${options.maxFileBytes}B`, rotate: options.maxFiles, mode: 0o600 });
  let failed = false;
  stream.on('error', (error: Error) => {
    if (failed) return;
    failed = true;
    options.onError(error);
  });
  return {
    path: join(options.dir, 'gateway.log'),
    write(line) {
      if (!failed && !stream.writableEnded) stream.write(`${line}\n`);
    },
    async close() {
      if (stream.writableEnded) return;
      if (failed) {
        stream.destroy();
        return;
      }
      const finished = once(stream, 'finish').catch(() => undefined);
      stream.end();
      await finished;
    },
  };
}
