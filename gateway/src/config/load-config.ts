import { readFile } from 'node:fs/promises';
import { repoPath } from '../package-paths.js';
import type { z } from 'zod';
import { configSchema, type GatewayConfig } from './config-schema.js';

/** One setting from one place: `path` into the config object, and where it came from for error messages. */
export interface ConfigAssignment {
  path: string[];
  value: unknown;
  source: string;
}

/** The repository's own defaults, used by `npm start` and as the base layer for everyone else. */
export const DEFAULT_CONFIG_FILE = repoPath('config/config.json');

/**
 * Variables that predate the `AIPLUGS_*` scheme (the seed used them) and still win over the files.
 * They are applied after the derived `AIPLUGS_*` names, so the seed's spelling beats both files.
 */
const LEGACY_ENV: Record<string, string[]> = {
  CLOUD_BASE_URL: ['cloud', 'base_url'],
  SYSTEM_API_KEY: ['cloud', 'api_key'],
  AIPLUGS_OFFLINE: ['models', 'offline'],
  AIPLUGS_MODEL_MIRROR: ['models', 'mirror'],
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Flattens a parsed JSON config into leaf assignments; arrays are leaves. */
export function flattenConfig(value: unknown, source: string, prefix: string[] = []): ConfigAssignment[] {
  if (!isPlainObject(value)) return [{ path: prefix, value, source }];
  return Object.entries(value).flatMap(([key, child]) => flattenConfig(child, source, [...prefix, key]));
}

/** `["proxy","csp_mode"]` → `AIPLUGS_PROXY_CSP_MODE`. */
export function envNameFor(path: string[]): string {
  return `AIPLUGS_${path.join('_').toUpperCase()}`;
}

/** Reads every config key's `AIPLUGS_*` variable, then the legacy names, from an environment. */
export function envAssignments(defaults: unknown, env: NodeJS.ProcessEnv): ConfigAssignment[] {
  const derived = flattenConfig(defaults, '')
    .map(({ path }) => ({ path, name: envNameFor(path) }))
    .filter(({ name }) => env[name] !== undefined)
    .map(({ path, name }) => ({ path, value: env[name], source: `environment variable ${name}` }));
  const legacy = Object.entries(LEGACY_ENV)
    .filter(([name]) => env[name] !== undefined)
    .map(([name, path]) => ({ path, value: env[name], source: `environment variable ${name}` }));
  return [...derived, ...legacy];
}

function assign(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (!isPlainObject(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = path.at(-1);
  if (last !== undefined) node[last] = value;
}

function lookup(target: unknown, path: PropertyKey[]): unknown {
  return path.reduce<unknown>((node, key) => (isPlainObject(node) || Array.isArray(node) ? (node as Record<string, unknown>)[String(key)] : undefined), target);
}

/** Describes what a zod issue expected, in words a user can act on. */
function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_value') return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(' | ')}`;
  return issue.message;
}

/**
 * One line per unknown key, naming only that key and where it was set. (The issue points at the
 * object holding the keys: showing its value dumped the whole merged config, secrets included.)
 */
function describeUnknownKeys(issue: z.core.$ZodIssue & { code: 'unrecognized_keys' }, sourceOf: ReadonlyMap<string, string>): string[] {
  return issue.keys.map((key) => {
    const path = [...issue.path, key].join('.');
    const source = sourceOf.get(path) ?? [...sourceOf].find(([assigned]) => assigned.startsWith(`${path}.`))?.[1];
    return `  ${path}${source ? ` (from ${source})` : ''}: unknown key`;
  });
}

/** A value as shown in an error: JSON, cut short (a wrong value is recognised by its start). */
const showValue = (value: unknown) => {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
};

/**
 * Applies layers in order (later wins) and validates the result.
 * Errors name the key, the offending value, where it came from and what was expected.
 */
export function resolveConfig(layers: ConfigAssignment[]): GatewayConfig {
  const raw: Record<string, unknown> = {};
  const sourceOf = new Map<string, string>();
  for (const { path, value, source } of layers) {
    assign(raw, path, value);
    sourceOf.set(path.join('.'), source);
  }
  const parsed = configSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') return describeUnknownKeys(issue, sourceOf);
    // Report the setting as the user wrote it: the longest prefix of the issue path they assigned
    // (an env var sets `proxy.port_range` as one string, the issue may point at its element 0).
    let depth = issue.path.length;
    while (depth > 0 && !sourceOf.has(issue.path.slice(0, depth).join('.'))) depth -= 1;
    const keyPath = depth > 0 ? issue.path.slice(0, depth) : issue.path;
    const key = keyPath.join('.') || '(top level)';
    const inner = issue.path.slice(keyPath.length);
    const value = lookup(raw, keyPath);
    const source = sourceOf.get(key);
    return `  ${key} = ${showValue(value)}${source ? ` (from ${source})` : ''}: ${inner.length > 0 ? `[${inner.join('.')}] ` : ''}${describeIssue(issue)}`;
  });
  return fail(`Invalid configuration:\n${lines.sort().join('\n')}`);
}

function fail(message: string): never {
  throw new ConfigError(message);
}

async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return fail(`Cannot read config file ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    return fail(`Config file ${file} is not valid JSON: ${(error as Error).message}`);
  }
}

/** "an array", "a string", "null": what a config file holds instead of an object, in words. */
const describeJson = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`);

/**
 * A config file's settings. Only an object has any: anything else would flatten to nothing and
 * the gateway would start on defaults as if the file were not there.
 */
async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  const json = await readJsonFile(file);
  if (!isPlainObject(json)) return fail(`Config file ${file} must hold a JSON object (like {"api": {"port": 5000}}), not ${describeJson(json)}`);
  return json;
}

export interface LoadConfigOptions {
  /** The embedded defaults; tests may point elsewhere. */
  defaultsFile?: string;
  /** The user's config file (`--config`, or `config.json` in the data dir when present). */
  userFile?: string | null;
  env?: NodeJS.ProcessEnv;
  /** Command-line flags, highest precedence. */
  overrides?: ConfigAssignment[];
  /** Told what the environment decided that a user might not expect (see `envNotices`); before any logger exists, so the caller logs them. */
  onNotice?: (message: string) => void;
}

/**
 * What the environment decided silently: `SYSTEM_API_KEY=` (empty) means "no key", beating
 * `cloud.api_key` in the config files, as `CLOUD_BASE_URL=` turns the cloud off. That is on purpose
 * (a shell can switch a key off for one run), but a key in config.json then goes unused without a
 * word, so it is said once, at info level: when a config file had a key and no key is sent.
 *
 * @example
 *   envNotices({ SYSTEM_API_KEY: '' }, fileLayers, config); // → ['SYSTEM_API_KEY is set but empty: cloud calls send no API key (cloud.api_key from the config files is not used)']
 */
export function envNotices(env: NodeJS.ProcessEnv, fileLayers: ConfigAssignment[], config: GatewayConfig): string[] {
  const fileKey = fileLayers.some(({ path, value }) => path.join('.') === 'cloud.api_key' && typeof value === 'string' && value !== '');
  return env.SYSTEM_API_KEY === '' && fileKey && config.cloud.api_key === null ? ['SYSTEM_API_KEY is set but empty: cloud calls send no API key (cloud.api_key from the config files is not used)'] : [];
}

/**
 * Loads the gateway configuration. Precedence, lowest to highest:
 * `config/config.json` < user config file < `AIPLUGS_*` env < seed env names < CLI flags.
 *
 * @example
 *   const config = await loadConfig({ env: process.env, overrides: [{ path: ['api', 'port'], value: 5001, source: '--api-port' }] });
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<GatewayConfig> {
  const defaultsFile = options.defaultsFile ?? DEFAULT_CONFIG_FILE;
  const defaults = await readConfigFile(defaultsFile);
  const fileLayers = [...flattenConfig(defaults, defaultsFile), ...(options.userFile ? flattenConfig(await readConfigFile(options.userFile), options.userFile) : [])];
  const config = resolveConfig([...fileLayers, ...envAssignments(defaults, options.env ?? {}), ...(options.overrides ?? [])]);
  for (const notice of envNotices(options.env ?? {}, fileLayers, config)) options.onNotice?.(notice);
  return config;
}
