import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { ensureCertificateAuthority, type CertificateAuthority } from '../../ca/certificate-authority.js';
import type { GatewayConfig } from '../../config/config-schema.js';
import { loadConfig } from '../../config/load-config.js';
import { prepareDataDir, resolveDataDir } from '../../data/data-dir.js';
import { createEventBus } from '../../events/event-bus.js';
import { createLogger } from '../../events/logger.js';

/** Flags every command that reads the data dir accepts. */
export interface DataDirFlags {
  dataDir?: string;
  config?: string;
  json?: boolean;
}

/** A folder or file argument: an empty one (`--data-dir ""`, an unset shell variable) is a usage error, not the default. */
export function parsePathArgument(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('expected a path, got an empty one (leave the option out for the default)');
  return value;
}

/** A port argument, in plain decimal (Number() took "0x1610" as 5648 and "8e3" as 8000). */
export function parsePortArgument(value: string): number {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) throw new InvalidArgumentError('expected a port number 0-65535 (0 = any free port)');
  return port;
}

export const addDataDirOption = (command: Command) => command.option('--data-dir <dir>', 'the gateway data dir (default: AIPLUGS_DATA_DIR or the per-user app folder)', parsePathArgument);
export const addConfigOption = (command: Command) => command.option('--config <file>', 'a user config file (default: <data dir>/config.json when present)', parsePathArgument);
export const addJsonOption = (command: Command) => command.option('--json', 'print JSON on stdout instead of text');

export const cliDataDir = (flags: DataDirFlags, env: NodeJS.ProcessEnv = process.env) => resolveDataDir(flags.dataDir, env);

/** The same config the gateway would load for this data dir (defaults < file < env). */
export async function cliConfig(flags: DataDirFlags, env: NodeJS.ProcessEnv = process.env): Promise<GatewayConfig> {
  const dataDir = cliDataDir(flags, env);
  const defaultFile = join(dataDir, 'config.json');
  const userFile = flags.config ?? env.AIPLUGS_CONFIG ?? (existsSync(defaultFile) ? defaultFile : null);
  return loadConfig({ userFile, env });
}

/** The data dir's CA, generated the way the gateway would if there is none yet. */
export async function cliCertificateAuthority(flags: DataDirFlags): Promise<CertificateAuthority> {
  const dataDir = cliDataDir(flags);
  const config = await cliConfig(flags);
  await prepareDataDir(dataDir);
  const logger = createLogger({ bus: createEventBus({ history: 1 }), level: 'info' }, 'ca');
  return ensureCertificateAuthority({ dataDir, lifetimeDays: config.ca.lifetime_days, renewBeforeDays: config.ca.renew_before_days, logger });
}

export const printJson = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
export const print = (...lines: string[]) => process.stdout.write(`${lines.join('\n')}\n`);
