import type { LoadedPlugin } from '../plugins/plugin-registry.js';

/**
 * The variables a worker takes from the gateway's environment: what finding programs, a home, a
 * locale, a temp folder and the Python through a version manager need, and nothing that
 * configures or credentials anything. Anything else reaches a worker only when the user lists
 * it in `workers.env_passthrough` (CUDA_VISIBLE_DEVICES, HF_HOME…) or grants it as a secret.
 * NODE_OPTIONS, LD_PRELOAD, proxies and tokens are deliberately absent.
 */
export const WORKER_ENV_ALLOWLIST = [
  // POSIX basics
  'PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'TERM',
  // locale and time zone (LC_* are matched by prefix below)
  'LANG', 'LANGUAGE', 'TZ',
  // temp folders
  'TMPDIR', 'TEMP', 'TMP',
  // per-user folders libraries look up (caches, configs)
  'XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_RUNTIME_DIR',
  // a python3 that is a pyenv shim needs to know which pyenv and version; the user's choice of
  // not writing __pycache__ into plugin folders
  'PYENV_ROOT', 'PYENV_VERSION', 'PYTHONDONTWRITEBYTECODE',
  // Windows: what the C runtime, Python and Node need to start, find the profile and temp
  'SYSTEMROOT', 'SYSTEMDRIVE', 'WINDIR', 'COMSPEC', 'PATHEXT', 'USERPROFILE', 'USERNAME', 'HOMEDRIVE', 'HOMEPATH',
  'APPDATA', 'LOCALAPPDATA', 'PROGRAMDATA', 'PROGRAMFILES', 'NUMBER_OF_PROCESSORS', 'PROCESSOR_ARCHITECTURE', 'OS',
] as const;
const ALLOWED_PREFIXES = ['LC_'];

/**
 * Never passed, even when listed in `workers.env_passthrough`: the gateway's cloud settings and
 * every `AIPLUGS_*` variable (they configure the gateway). A manifest grant is the only way in.
 */
const WITHHELD_NAMES = new Set(['SYSTEM_API_KEY', 'CLOUD_BASE_URL']);
const WITHHELD_PREFIX = 'AIPLUGS_';

/** Set in every worker: prints should reach the log as they happen and in UTF-8 whatever the locale says. */
const OUTPUT_SETTINGS = { PYTHONUNBUFFERED: '1', PYTHONIOENCODING: 'utf-8' } as const;

const isAllowlisted = (key: string) => (WORKER_ENV_ALLOWLIST as readonly string[]).includes(key) || ALLOWED_PREFIXES.some((prefix) => key.startsWith(prefix));

/**
 * Why a model `key` may not be this variable's name, or null when it may. A model path under a
 * name the worker already gets would silently replace what it needs (`PATH`: the host no longer
 * starts) or be replaced by it (`AIPLUGS_PLUGIN_ID`). The manifest schema asks this, so the list
 * stays here, beside the code that fills the environment. Compared ignoring case, as Windows
 * does, so a manifest that is valid on one system is valid on all.
 */
export function workerVariableConflict(name: string): string | null {
  const key = name.toUpperCase();
  if (key.startsWith(WITHHELD_PREFIX)) return `"${name}" is reserved for the gateway (${WITHHELD_PREFIX}*)`;
  if (key in OUTPUT_SETTINGS || WITHHELD_NAMES.has(key)) return `"${name}" is set by the gateway`;
  if (isAllowlisted(key)) return `"${name}" is passed to every worker from the gateway's environment`;
  if (RUNTIME_PREFIXES.some((prefix) => key.startsWith(prefix))) return `"${name}" configures how the worker's runtime starts (${RUNTIME_PREFIXES.join('*, ')}*)`;
  return null;
}

/**
 * Read by Node, Python and the dynamic loader before the backend's code runs: a model path under
 * `NODE_OPTIONS` was taken as Node's options and the worker could not start (helper-77).
 */
const RUNTIME_PREFIXES = ['NODE_', 'PYTHON', 'LD_', 'DYLD_'];

export interface WorkerEnvOptions {
  plugin: LoadedPlugin;
  /** From the provisioner: model `key` → absolute path. */
  modelPaths: Record<string, string>;
  modelsDir: string;
  /** The environment the allowlisted variables are read from (the gateway's). */
  base: NodeJS.ProcessEnv;
  /** Secret values (API token, cloud key): any variable holding one is dropped, whatever its name. */
  secretValues: Array<string | null | undefined>;
  /** Secrets this plugin may receive by name (the user allowed them), e.g. `{ SYSTEM_API_KEY: config.cloud.api_key }`. */
  grantable: Record<string, string | null | undefined>;
  /** `workers.env_passthrough`: more names to take from `base`. */
  passthrough?: readonly string[];
}

/** The secret names a plugin's manifest asks to receive (`inference.env`). */
export function requestedSecretNames(plugin: LoadedPlugin): string[] {
  return plugin.manifest.inference?.env ?? [];
}

/** Environment names compare case-insensitively on Windows (`Path`, `SystemRoot`). */
const normalise = (name: string) => (process.platform === 'win32' ? name.toUpperCase() : name);

/** True if `name` is on the built-in allowlist or in `extra`, and is not a withheld gateway variable. */
export function isPassedToWorkers(name: string, extra: ReadonlySet<string> = new Set()): boolean {
  const key = normalise(name);
  if (WITHHELD_NAMES.has(key) || key.startsWith(WITHHELD_PREFIX)) return false;
  return isAllowlisted(key) || extra.has(key);
}

/**
 * Builds a worker's environment from an allowlist: the allowlisted (and user-listed) variables of
 * the gateway's environment, minus any that holds a secret value, plus the plugin's identity, its
 * model paths under their keys, and exactly the secrets its manifest asked for and the user granted.
 *
 * @example
 *   buildWorkerEnv({ plugin, modelPaths: { MATH_MODEL_PATH: '/models/m.gguf' }, modelsDir, base: process.env, secretValues: [token], grantable: {} });
 */
export function buildWorkerEnv(options: WorkerEnvOptions): NodeJS.ProcessEnv {
  const secrets = new Set(options.secretValues.filter((value): value is string => typeof value === 'string' && value.length > 0));
  const extra = new Set((options.passthrough ?? []).map(normalise));
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(options.base)) {
    if (value === undefined || secrets.has(value) || !isPassedToWorkers(name, extra)) continue;
    env[name] = value;
  }
  Object.assign(env, OUTPUT_SETTINGS);
  // Model keys never clash with the names set around them: the manifest schema refuses those.
  Object.assign(env, options.modelPaths);
  env.AIPLUGS_PLUGIN_ID = options.plugin.id;
  env.AIPLUGS_PLUGIN_DIR = options.plugin.dir;
  env.AIPLUGS_MODELS_DIR = options.modelsDir;
  for (const name of requestedSecretNames(options.plugin)) {
    const value = options.grantable[name];
    if (typeof value === 'string' && value.length > 0) env[name] = value;
  }
  return env;
}
