import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GatewayConfig } from '../config/config-schema.js';
import { modelFilenameSchema, type ModelDeclaration, type PluginManifest } from '../plugins/manifest-schema.js';
import type { LoadedPlugin, PluginRecord } from '../plugins/plugin-registry.js';
import { codePath } from '../package-paths.js';
import { VERSION } from '../version.js';
import { languageDetectorModel } from './language-detector-model.js';

/**
 * The Web AI backends as built-in "plugins": records the worker manager, the model provisioner,
 * `GET /api/models`, `GET /api/workers`, the dashboard and `aiplugs models` all take as they take
 * any plugin, so lazy start, idle unload, memory caps, provisioning and progress events apply
 * unchanged. Their ids contain a ":" that no plugin id may (see pluginIdSchema): no plugin folder
 * can ever stand in for them.
 */
export const WEB_AI_LLM = 'webai:llm';
export const WEB_AI_LANGUAGE_DETECTOR = 'webai:language-detector';
/** The id the cloud relay and the cloud budget see for Web AI's cloud calls. */
export const WEB_AI_CLOUD = 'webai:cloud';

/** Where the worker backends live; also their records' folder. */
const BACKENDS_DIR = codePath('webai/backends/');
/**
 * The backends' file extension: `.js` in the compiled gateway (gateway/dist, no TypeScript loader),
 * `.ts` where this module itself runs from its sources (tests through tsx).
 */
const BACKEND_EXTENSION = extname(fileURLToPath(import.meta.url));

/** The environment variable the LLM worker finds its model in (the model declaration's key). */
export const LLM_MODEL_KEY = 'WEBAI_LLM_MODEL';

export type WebAiConfig = GatewayConfig['webai'];

/** The file name a model URL is stored under in models/: its last path segment. */
export function modelFilenameOf(url: string): string {
  const last = decodeURIComponent(new URL(url, 'file:///').pathname.split('/').pop() ?? '');
  const parsed = modelFilenameSchema.safeParse(last);
  if (!parsed.success) throw new Error(`webai.model_url "${url}" does not end in a usable file name (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  return parsed.data;
}

/**
 * The LLM's model declaration from `webai.model_url` / `webai.model_sha256` (default: Qwen2.5
 * 0.5B Instruct Q4_K_M, hash "pending"), or null when `webai.model_path` names a file to use in place.
 */
export function llmModelDeclaration(config: WebAiConfig): ModelDeclaration | null {
  if (config.model_path) return null;
  return { key: LLM_MODEL_KEY, filename: modelFilenameOf(config.model_url), source_url: config.model_url, sha256: config.model_sha256, mirrors: [] };
}

function builtIn(id: string, name: string, entry: string, models: ModelDeclaration[]): LoadedPlugin {
  const manifest: PluginManifest = {
    manifest_version: 3,
    id,
    name,
    version: VERSION,
    description: `AiPlugs built-in: ${name}`,
    content_scripts: [],
    inference: { default_mode: 'local', local_entry: entry, models, env: [] },
  };
  return { id, dir: BACKENDS_DIR, status: 'enabled', manifest, contentScripts: [], revision: `builtin-${VERSION}`, inlineScripts: new Map() };
}

export interface WebAiBuiltIns {
  llm: LoadedPlugin;
  languageDetector: LoadedPlugin;
  all: LoadedPlugin[];
}

/**
 * @example
 *   const builtIns = await createWebAiBuiltIns(config.webai);
 *   workers.infer(builtIns.llm, { op: 'info', settings }, signal);
 */
export async function createWebAiBuiltIns(config: WebAiConfig): Promise<WebAiBuiltIns> {
  const llmModel = llmModelDeclaration(config);
  const llm = builtIn(WEB_AI_LLM, 'Web AI language model', `llm-backend${BACKEND_EXTENSION}`, llmModel ? [llmModel] : []);
  const languageDetector = builtIn(WEB_AI_LANGUAGE_DETECTOR, 'Web AI language detector', `language-detector-backend${BACKEND_EXTENSION}`, [languageDetectorModel()]);
  return { llm, languageDetector, all: [llm, languageDetector] };
}

/** The record the cloud relay gets for Web AI calls (chat endpoint, the configured cloud model). */
export function webAiCloudRecord(): LoadedPlugin {
  const record = builtIn(WEB_AI_CLOUD, 'Web AI (cloud)', 'none', []);
  return { ...record, manifest: { ...record.manifest, inference: { default_mode: 'cloud', models: [], env: [], cloud: { endpoint: 'chat' } } } };
}

/**
 * A registry view with the built-ins listed after the plugins, for the model inventory (so
 * `models gc` never removes Web AI's models) and for `models pull webai:llm`.
 */
export function withBuiltIns<R extends { list(): PluginRecord[]; get(id: string): PluginRecord | undefined }>(registry: R, builtIns: LoadedPlugin[]) {
  return {
    list: (): PluginRecord[] => [...registry.list(), ...builtIns],
    get: (id: string): PluginRecord | undefined => builtIns.find((plugin) => plugin.id === id) ?? registry.get(id),
  };
}
