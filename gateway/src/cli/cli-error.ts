import { ConfigError } from '../config/load-config.js';

/** Exit codes that mean something to scripts (documented in docs/CLI.md). */
export const EXIT = {
  ok: 0,
  /** Something failed; the message says what. */
  failure: 1,
  /** Bad command line (unknown option, missing argument). */
  usage: 2,
  /** The configuration is invalid. */
  config: 3,
  /** No gateway is running for this data dir. */
  notRunning: 4,
  /** The check ran and found problems (`doctor`, `plugins validate`, `ca status` when untrusted is asked for). */
  problems: 5,
} as const;

/** An error that ends the CLI with a specific exit code and one clear line. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Writes the one clear line for an error that ends a command; returns the exit code it means. */
export function reportCliFailure(error: unknown): number {
  process.stderr.write(`aiplugs: ${(error as Error).message}\n`);
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof ConfigError) return EXIT.config;
  return EXIT.failure;
}
