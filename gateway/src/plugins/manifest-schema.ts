import { MatchPattern } from '@webext-core/match-patterns';
import { z } from 'zod';
import { isRunnableEntry, UNRUNNABLE_ENTRY } from './backend-entry.js';
import { workerVariableConflict } from '../workers/worker-env.js';

/** Plugin ids appear in URLs, file names and env values: keep them boring. */
export const pluginIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'expected 1-64 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit');

/** True for a path that stays inside the folder it is relative to, on every OS. */
export function isSafeRelativePath(path: string): boolean {
  if (path.length === 0 || path.includes('\0') || path.includes('\\')) return false;
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return false;
  return path.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

const relativeFile = z
  .string()
  .refine(isSafeRelativePath, 'expected a relative path inside the plugin folder (no "..", no leading "/", no "\\", no NUL)');

/** At most this much of a refused pattern is repeated in its error: a 10 KB pattern must not fill a log line. */
const ECHOED_PATTERN_CHARS = 100;

/** The pattern as an error message may show it: whole when short, else its start and its length. */
export function echoPattern(pattern: string): string {
  return pattern.length <= ECHOED_PATTERN_CHARS ? pattern : `${pattern.slice(0, ECHOED_PATTERN_CHARS)}… (${pattern.length} characters)`;
}

/**
 * Chrome's host rule, which @webext-core/match-patterns only half applies: the host is `*`, or has
 * no `*`, or has one only as its leading `*.` label. The library takes `*://*.*.com/*` and then
 * matches it against hosts no such pattern names (`x.com`, `foo.*.com`).
 */
export function hostWildcardProblem(pattern: string): string | null {
  // The host ends at its port (which the library refuses with its own message) or its path.
  const host = /^[^:/]+:\/\/([^/:]*)/.exec(pattern)?.[1];
  if (host === undefined || host === '*') return null;
  const rest = host.startsWith('*.') ? host.slice(2) : host;
  return rest.includes('*') ? 'a "*" in the host must be the whole host or its first label, as in "*.example.com"' : null;
}

/** Why Chrome would refuse `pattern`, in a message that repeats at most the start of it; null when it is valid. */
export function matchPatternProblem(pattern: string): string | null {
  const shown = `Invalid match pattern "${echoPattern(pattern)}"`;
  const hostProblem = hostWildcardProblem(pattern);
  if (hostProblem) return `${shown}: ${hostProblem}`;
  try {
    new MatchPattern(pattern);
    return null;
  } catch (error) {
    // The library's message starts with the whole pattern; keep only its reason.
    const message = (error as Error).message;
    const prefix = `Invalid match pattern "${pattern}": `;
    const reason = message.startsWith(prefix) ? message.slice(prefix.length) : 'not a match pattern';
    // A reason may quote part of the pattern too ("<scheme> not a valid protocol").
    return `${shown}: ${echoPattern(reason)}`;
  }
}

const matchPattern = z.string().superRefine((pattern, ctx) => {
  const problem = matchPatternProblem(pattern);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** A model file name: one path segment, not hidden, not one of the provisioner's own suffixes. */
export const modelFilenameSchema = z
  .string()
  .min(1)
  .max(200)
  .refine((name) => !/[/\\\0]/.test(name) && !name.startsWith('.'), 'expected a plain file name (no "/", "\\", NUL or leading ".")')
  .refine((name) => !/\.(part|lock|corrupt(-\d+)?)$/.test(name), 'must not end in .part, .lock or .corrupt (reserved for downloads)');

const sourceUrl = z
  .string()
  .regex(/^(https?:\/\/|file:)/, 'expected an http:, https: or file: URL');

export const modelDeclarationSchema = z.object({
  /** Environment variable that carries the model's absolute path to the backend. */
  key: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name ([A-Za-z_][A-Za-z0-9_]*)')
    .superRefine((key, ctx) => {
      const conflict = workerVariableConflict(key);
      if (conflict) ctx.addIssue({ code: 'custom', message: `${conflict}; choose a name of the plugin's own, e.g. "MY_MODEL_PATH"` });
    }),
  filename: modelFilenameSchema,
  source_url: sourceUrl,
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'expected 64 hexadecimal digits')
    .transform((hash) => hash.toLowerCase()),
  size: z.number().int().positive().optional(),
  mirrors: z.array(sourceUrl).default([]),
});

/** A WebExtension URL glob: `*` any run of characters, `?` any one, matched against the whole URL (each costs up to its length × the URL's to match). */
const urlGlob = z.string().min(1).max(256);

export const contentScriptSchema = z.object({
  matches: z.array(matchPattern).min(1),
  exclude_matches: z.array(matchPattern).default([]),
  /** Of the URLs `matches` covers, only those one of these globs matches too (WebExtension semantics). */
  include_globs: z.array(urlGlob).default([]),
  /** URLs left alone though the patterns cover them. */
  exclude_globs: z.array(urlGlob).default([]),
  js: z.array(relativeFile).default([]),
  css: z.array(relativeFile).default([]),
  run_at: z.enum(['document_start', 'document_end', 'document_idle']).default('document_idle'),
  /**
   * Frames (iframes) get this group too; by default only top-level pages do, as with a
   * WebExtension's content scripts: an ad or an embedded player does not get the plugin's UI or calls.
   */
  all_frames: z.boolean().default(false),
});

export const cloudSettingsSchema = z.object({
  /** Which OpenAI-compatible endpoint payloads go to. */
  endpoint: z.enum(['chat', 'embeddings', 'raw']).default('chat'),
  model: z.string().min(1).optional(),
  system_prompt: z.string().optional(),
  /** What the plugin's page calls need at most; the user's `cloud.page_*` caps still apply. */
  requests_per_minute: z.number().int().positive().optional(),
  max_tokens: z.number().int().positive().optional(),
  max_input_bytes: z.number().int().positive().optional(),
});

/** Gateway secrets a backend may ask for; each is passed only if the user also allowed it. */
export const GRANTABLE_SECRETS = ['SYSTEM_API_KEY', 'CLOUD_BASE_URL', 'AIPLUGS_API_TOKEN'] as const;

export const inferenceSchema = z
  .object({
    default_mode: z.enum(['local', 'cloud']),
    local_entry: relativeFile.refine(isRunnableEntry, UNRUNNABLE_ENTRY).optional(),
    models: z.array(modelDeclarationSchema).default([]),
    cloud: cloudSettingsSchema.optional(),
    env: z.array(z.enum(GRANTABLE_SECRETS)).default([]),
  })
  .superRefine((inference, ctx) => {
    const seen = new Set<string>();
    inference.models.forEach((model, index) => {
      if (seen.has(model.key)) ctx.addIssue({ code: 'custom', path: ['models', index, 'key'], message: `duplicate model key "${model.key}"` });
      seen.add(model.key);
    });
  });

export const manifestSchema = z.object({
  manifest_version: z.literal(3),
  id: pluginIdSchema,
  name: z.string().min(1),
  version: z.string().min(1),
  description: z.string().default(''),
  content_scripts: z.array(contentScriptSchema).default([]),
  /**
   * Files pages may load besides the content scripts and their CSS (images, fonts, templates):
   * paths or `*` / `**` globs relative to the plugin folder. Nothing else in the folder is served.
   */
  web_accessible_resources: z.array(z.string().min(1).max(200).refine((glob) => isSafeRelativePath(glob.replace(/\*+/g, 'x')), 'expected a relative path or glob inside the plugin folder')).optional(),
  inference: inferenceSchema.optional(),
});

export type PluginManifest = z.infer<typeof manifestSchema>;
export type ContentScript = z.infer<typeof contentScriptSchema>;
export type ModelDeclaration = z.infer<typeof modelDeclarationSchema>;
export type RunAt = ContentScript['run_at'];

/** Formats zod issues as `path: message` lines, the way `plugins validate` and the registry report them. */
export function formatManifestIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.reduce<string>(
      (text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)),
      '',
    );
    return `${path || '(manifest)'}: ${issue.message}`;
  });
}
