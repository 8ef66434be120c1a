import type { EventBus, LogLevel } from './event-bus.js';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** A logger whose lines carry `scope` (a plugin id, "proxy", …). */
  child(scope: string): Logger;
}

export interface LoggerOptions {
  bus: EventBus;
  level: LogLevel;
  /** Where human-readable lines go (stderr by default: stdout is reserved for `--json`). */
  write?: (line: string) => void;
  /** Values that must never appear in any log line or event (API token, cloud key). */
  secrets?: () => Array<string | null | undefined>;
}

/** Replaces every occurrence of each secret with a placeholder. */
export function redact(text: string, secrets: Array<string | null | undefined>): string {
  return secrets.reduce<string>((out, secret) => (secret && secret.length >= 4 ? out.split(secret).join('[redacted]') : out), text);
}

export function createLogger(options: LoggerOptions, scope = 'gateway'): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const log = (level: LogLevel) => (raw: string) => {
    if (RANK[level] < RANK[options.level]) return;
    const message = redact(raw, options.secrets?.() ?? []);
    options.bus.emit({ type: 'log', level, scope, message });
    write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} [${scope}] ${message}`);
  };
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (childScope) => createLogger(options, childScope),
  };
}
