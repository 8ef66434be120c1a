import { z } from 'zod';
import { manifestSchema } from '../plugins/manifest-schema.js';

/** Where the generated schema is committed, relative to the repository root. */
export const MANIFEST_SCHEMA_PATH = 'schemas/manifest.schema.json';

/**
 * What each manifest field means, shown by editors on hover and completion. Keyed by the field's
 * path through `properties` (array items as `[]`). Kept here, beside the generator, so the zod
 * schema stays about validation; `manifest-json-schema.test.ts` fails when a field has none.
 */
export const FIELD_DESCRIPTIONS: Record<string, string> = {
  '': 'An AiPlugs plugin manifest: plugins/<id>/manifest.json. See docs/PLUGINS.md.',
  $schema: 'Optional: the JSON Schema this file follows, for editor completion. Ignored by the gateway.',
  manifest_version: 'Always 3.',
  id: 'The plugin id: 1-64 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit. Used in URLs (…/api/plugins/<id>/…), in AiPlugs.infer(id, …) and in logs. Unique among installed plugins.',
  name: 'Human-readable name, shown in the dashboard and the extension popup.',
  version: 'The plugin version (free text; semver recommended).',
  description: 'One or two sentences on what the plugin does.',
  content_scripts: 'Scripts (and styles) injected into matching pages, like a WebExtension\'s content_scripts. They run in the page\'s own world, after the AiPlugs page runtime.',
  'content_scripts[]': 'One group of files injected into the pages its match patterns cover.',
  'content_scripts[].matches': 'WebExtension match patterns of the pages to inject into, e.g. "<all_urls>", "*://*.example.com/*".',
  'content_scripts[].matches[]': 'A WebExtension match pattern.',
  'content_scripts[].exclude_matches': 'Match patterns of pages to leave alone even though "matches" covers them.',
  'content_scripts[].exclude_matches[]': 'A WebExtension match pattern.',
  'content_scripts[].include_globs': 'Of the pages "matches" covers, only those whose whole URL one of these globs matches ("*" any run of characters, "?" any one), as in a WebExtension.',
  'content_scripts[].include_globs[]': 'A URL glob: "*" matches any run of characters, "?" any one.',
  'content_scripts[].exclude_globs': 'Pages to leave alone though the patterns cover them: globs over the whole URL ("*", "?"), as in a WebExtension.',
  'content_scripts[].exclude_globs[]': 'A URL glob: "*" matches any run of characters, "?" any one.',
  'content_scripts[].js': 'JavaScript files, relative to the plugin folder, injected in this order.',
  'content_scripts[].js[]': 'A path relative to the plugin folder (no "..", no leading "/").',
  'content_scripts[].css': 'Style sheets, relative to the plugin folder, added to the page. Prefer styles inside your own shadow root: page CSS cannot reach those.',
  'content_scripts[].css[]': 'A path relative to the plugin folder (no "..", no leading "/").',
  'content_scripts[].run_at': 'When the scripts run: "document_start" (before the page\'s own scripts), "document_end" (DOM parsed) or "document_idle" (the default: after DOMContentLoaded, at the page\'s load event or 200 ms after DOMContentLoaded, whichever comes first, as Chrome runs extensions\' document_idle scripts).',
  'content_scripts[].all_frames': 'Whether frames (iframes) whose URL matches get this group too. Default false: top-level pages only, as with a WebExtension\'s content scripts, so ads and embedded players do not get the plugin\'s UI or calls. Only the proxy injects into frames; without it, the extension runs plugins in top-level pages only.',
  web_accessible_resources: 'Files pages may load besides the content scripts and their CSS (images, fonts, templates): paths or "*" / "**" globs relative to the plugin folder, e.g. "icons/*.svg". Nothing else in the folder is ever served to a page; dotfiles never are, whatever a glob says.',
  'web_accessible_resources[]': 'A path or glob relative to the plugin folder.',
  inference: 'How AiPlugs.infer() calls for this plugin are answered: by a local backend process or by a cloud / cluster server.',
  'inference.default_mode': '"local" runs local_entry on this machine; "cloud" relays to the OpenAI-compatible server set by cloud.base_url / CLOUD_BASE_URL. The user may switch it per plugin.',
  'inference.env': 'Gateway secrets the backend asks to receive as environment variables (SYSTEM_API_KEY, CLOUD_BASE_URL, AIPLUGS_API_TOKEN). Each is passed only if the user also allowed it for this plugin (settings plugin_allowed_secrets).',
  'inference.env[]': 'The name of one gateway secret the backend asks for.',
  'inference.local_entry': 'The backend file, relative to the plugin folder: .py (Python), .js/.mjs/.cjs (Node) or .ts (Node through tsx). It exposes run(payload) returning JSON.',
  'inference.models': 'Model files the backend needs. Each is downloaded into the central models/ folder on first use, verified by SHA-256, and its absolute path handed to the backend in the environment variable named by "key".',
  'inference.models[]': 'One model file.',
  'inference.models[].key': 'The environment variable that carries the model file\'s absolute path to the backend, e.g. "LID_MODEL_PATH". Not a name the worker already gets: AIPLUGS_*, PATH, HOME, the locale (LANG, LC_*), temp folders, PYTHONUNBUFFERED/PYTHONIOENCODING, the grantable secrets, and the rest of the allowlist in docs/BACKENDS.md (compared ignoring case).',
  'inference.models[].filename': 'The file name inside models/ (one path segment). Plugins declaring the same filename share one file, so they must declare the same sha256.',
  'inference.models[].source_url': 'Where the file comes from: an https:/http: URL (the official one), or a file: URL; a relative file: path is resolved against the plugin folder.',
  'inference.models[].sha256': 'The file\'s SHA-256 in hex. Every download is verified against it; a file that does not match is never used.',
  'inference.models[].size': 'The file size in bytes, when known: used for progress before the server says it.',
  'inference.models[].mirrors': 'Fallback sources, tried in order when source_url fails (e.g. a file: copy that ships inside an npm package).',
  'inference.models[].mirrors[]': 'An https:, http: or file: URL; relative file: paths are resolved against the plugin folder.',
  'inference.cloud': 'Cloud mode settings: how a payload becomes a request to the OpenAI-compatible server.',
  'inference.cloud.endpoint': '"chat" → POST {base}/v1/chat/completions; "embeddings" → POST {base}/v1/embeddings; "raw" → POST {base}/api/plugins/<id>/infer (another AiPlugs gateway).',
  'inference.cloud.model': 'The model name sent to the server; defaults to cloud.model in the gateway config.',
  'inference.cloud.system_prompt': 'A system message put before the user\'s, for "chat".',
  'inference.cloud.requests_per_minute': 'The most cloud calls per minute the plugin\'s pages need. The user\'s cap (cloud.page_requests_per_minute) still applies: a manifest can only lower it.',
  'inference.cloud.max_tokens': 'The longest answer (max_tokens) the plugin\'s page calls need. The user\'s cap (cloud.page_max_tokens) still applies.',
  'inference.cloud.max_input_bytes': 'The largest payload (bytes of JSON: the prompt, mostly) the plugin\'s page calls need to send to the cloud. The user\'s cap (cloud.page_max_input_bytes) still applies.',
};

type JsonSchema = { [key: string]: unknown; properties?: Record<string, JsonSchema>; items?: JsonSchema };

/** Every field path of a generated schema, in the notation of FIELD_DESCRIPTIONS. */
export function fieldPaths(schema: JsonSchema, prefix = ''): string[] {
  const paths: string[] = [];
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    const path = prefix ? `${prefix}.${name}` : name;
    paths.push(path, ...fieldPaths(child, path));
  }
  if (schema.items && typeof schema.items === 'object') {
    const path = `${prefix}[]`;
    paths.push(path, ...fieldPaths(schema.items, path));
  }
  return paths;
}

function describe(schema: JsonSchema, prefix: string): void {
  const description = FIELD_DESCRIPTIONS[prefix];
  if (description) schema.description = description;
  for (const [name, child] of Object.entries(schema.properties ?? {})) describe(child, prefix ? `${prefix}.${name}` : name);
  if (schema.items && typeof schema.items === 'object') describe(schema.items, `${prefix}[]`);
}

/**
 * The manifest's JSON Schema, generated from the zod schema the gateway validates with
 * (`z.toJSONSchema`, input side: defaults are optional, as an author writes them), plus field
 * descriptions and an optional `$schema` key so manifests can point editors at it.
 * Checks the zod schema makes in code (match-pattern syntax, files that must exist) are not
 * expressible here: `aiplugs plugins validate` reports those.
 *
 * @example
 *   JSON.stringify(buildManifestJsonSchema(), null, 2); // what `npm run schema` writes
 */
export function buildManifestJsonSchema(): JsonSchema {
  const generated = z.toJSONSchema(manifestSchema, { io: 'input', target: 'draft-2020-12' }) as JsonSchema;
  const { $schema: draft, ...rest } = generated;
  const schema: JsonSchema = {
    $schema: draft,
    title: 'AiPlugs plugin manifest',
    ...rest,
    properties: { $schema: { type: 'string' }, ...(rest.properties ?? {}) },
  };
  describe(schema, '');
  return schema;
}

/** The exact text committed at MANIFEST_SCHEMA_PATH. */
export function manifestJsonSchemaText(): string {
  return `${JSON.stringify(buildManifestJsonSchema(), null, 2)}\n`;
}
