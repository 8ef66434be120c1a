import type { LoadedPlugin } from '../plugins/plugin-registry.js';

/**
 * Gateway variables a worker never inherits: the seed's cloud settings (the key is a secret; the
 * URL comes with it) and every `AIPLUGS_*` variable, which configure the gateway, not plugins.
 */
const WITHHELD_NAMES = new Set(['SYSTEM_API_KEY', 'CLOUD_BASE_URL', 'NODE_TEST_CONTEXT']);
const WITHHELD_PREFIX = 'AIPLUGS_';

/** The variables the gateway itself sets; a model key may not take one of these names. */
export const RESERVED_WORKER_VARIABLES = ['AIPLUGS_PLUGIN_ID', 'AIPLUGS_PLUGIN_DIR', 'AIPLUGS_MODELS_DIR'] as const;

export interface WorkerEnvOptions {
  plugin: LoadedPlugin;
  /** From the provisioner: model `key` → absolute path. */
  modelPaths: Record<string, string>;
  modelsDir: string;
  /** The environment to start from (the gateway's). */
  base: NodeJS.ProcessEnv;
  /** Secret values (API token, cloud key): any variable holding one is dropped, whatever its name. */
  secretValues: Array<string | null | undefined>;
  /** Secrets this plugin may receive by name (the user allowed them), e.g. `{ SYSTEM_API_KEY: config.cloud.api_key }`. */
  grantable: Record<string, string | null | undefined>;
}

/** The secret names a plugin's manifest asks to receive (`inference.env`). */
export function requestedSecretNames(plugin: LoadedPlugin): string[] {
  return plugin.manifest.inference?.env ?? [];
}

/**
 * Builds a worker's environment: the gateway's minus its secrets, plus the plugin's identity, its
 * model paths under their keys, and exactly the secrets its manifest asked for.
 *
 * @example
 *   buildWorkerEnv({ plugin, modelPaths: { MATH_MODEL_PATH: '/models/m.gguf' }, modelsDir, base: process.env, secretValues: [token], grantable: {} });
 */
export function buildWorkerEnv(options: WorkerEnvOptions): NodeJS.ProcessEnv {
  const secrets = new Set(options.secretValues.filter((value): value is string => typeof value === 'string' && value.length > 0));
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(options.base)) {
    if (value === undefined || WITHHELD_NAMES.has(name) || name.startsWith(WITHHELD_PREFIX) || secrets.has(value)) continue;
    env[name] = value;
  }
  // Prints should reach the log as they happen and in UTF-8 whatever the locale says.
  env.PYTHONUNBUFFERED = '1';
  env.PYTHONIOENCODING = 'utf-8';
  for (const [key, path] of Object.entries(options.modelPaths)) {
    if ((RESERVED_WORKER_VARIABLES as readonly string[]).includes(key)) continue;
    env[key] = path;
  }
  env.AIPLUGS_PLUGIN_ID = options.plugin.id;
  env.AIPLUGS_PLUGIN_DIR = options.plugin.dir;
  env.AIPLUGS_MODELS_DIR = options.modelsDir;
  for (const name of requestedSecretNames(options.plugin)) {
    const value = options.grantable[name];
    if (typeof value === 'string' && value.length > 0) env[name] = value;
  }
  return env;
}
