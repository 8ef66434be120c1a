import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatManifestIssues, pluginIdSchema } from '../plugins/manifest-schema.js';
import { loadPlugin } from '../plugins/plugin-registry.js';
import { codePath, PACKAGE_ROOT } from '../package-paths.js';
import { MANIFEST_SCHEMA_PATH } from './manifest-json-schema.js';

/** `web-ai`: no backend; the content script uses the browser's standard AI APIs (docs/WEBAI.md). */
export type ScaffoldBackend = 'node' | 'python' | 'web-ai';
export const SCAFFOLD_BACKENDS: readonly ScaffoldBackend[] = ['node', 'python', 'web-ai'];

export interface ScaffoldOptions {
  /** The plugin id, also the folder name. */
  id: string;
  /** The folder that holds plugins (the gateway's `plugins_dir`). */
  pluginsDir: string;
  /** Default `node`. */
  backend?: ScaffoldBackend;
  /** Default: the id in title case. */
  name?: string;
  description?: string;
  /** Match patterns for the content script. Default {@link SCAFFOLD_DEFAULT_MATCHES}. */
  matches?: string[];
}

/**
 * Where a new plugin runs until its author says otherwise: local pages only (any port, http or
 * https), so a plugin in the making never shows up on every site the browser visits.
 */
export const SCAFFOLD_DEFAULT_MATCHES: readonly string[] = ['*://localhost/*', '*://127.0.0.1/*'];

export interface ScaffoldResult {
  dir: string;
  /** Paths relative to `dir`, in the order written. */
  files: string[];
  /** How to run the scaffold's own test, from `dir`. */
  testCommand: string[];
}

export class ScaffoldError extends Error {
  override name = 'ScaffoldError';
}

const TEMPLATES = codePath('authoring/templates/');
const REPO_ROOT = fileURLToPath(PACKAGE_ROOT);

function titleCase(id: string): string {
  return id
    .split(/[-_.]+/)
    .filter(Boolean)
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join(' ');
}

/** A path from `from` to `to` in URL/POSIX form, as manifests and `/// <reference>` want it. */
function posixRelative(from: string, to: string): string {
  return relative(from, to).split(sep).join('/');
}

async function render(template: string, values: Record<string, string>): Promise<string> {
  const text = await readFile(join(TEMPLATES, template), 'utf8');
  return text.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);
}

/**
 * Writes a new, working plugin folder: manifest, a content script with dock UI that calls its
 * backend, the backend (Node or Python) and the backend's unit test; or, with backend `web-ai`, a
 * content script on the browser's standard AI APIs and no backend at all. The result is loaded
 * back through the plugin registry before returning, so a scaffold that would not load is an
 * error here, not in the user's gateway log.
 *
 * @example
 *   await scaffoldPlugin({ id: 'word-count', pluginsDir: 'plugins', backend: 'python' });
 *   // → { dir: 'plugins/word-count', files: ['manifest.json', 'content.js', 'backend.py', …] }
 */
export async function scaffoldPlugin(options: ScaffoldOptions): Promise<ScaffoldResult> {
  const idCheck = pluginIdSchema.safeParse(options.id);
  if (!idCheck.success) throw new ScaffoldError(`Invalid plugin id "${options.id}": ${formatManifestIssues(idCheck.error).map((line) => line.replace(/^\(manifest\): /, '')).join('; ')}`);
  const backend = options.backend ?? 'node';
  const pluginsDir = resolve(options.pluginsDir);
  const dir = join(pluginsDir, options.id);
  if (existsSync(dir)) throw new ScaffoldError(`${dir} already exists; choose another id or remove it first`);

  const name = options.name?.trim() || titleCase(options.id);
  const description =
    options.description?.trim() ||
    (backend === 'web-ai'
      ? `${name}: a badge with the page's language, from the standard LanguageDetector API. Replace with what your plugin does.`
      : `${name}: a badge with the page's word count, counted by a ${backend === 'python' ? 'Python' : 'Node'} backend. Replace with what your plugin does.`);
  const insideRepo = !posixRelative(REPO_ROOT, dir).startsWith('..');
  const schemaPath = join(REPO_ROOT, MANIFEST_SCHEMA_PATH);
  const typesPath = join(REPO_ROOT, 'types/aiplugs-page.d.ts');
  if (!SCAFFOLD_BACKENDS.includes(backend)) throw new ScaffoldError(`Unknown backend "${String(backend)}": use ${SCAFFOLD_BACKENDS.join(' or ')}`);
  const entry = backend === 'python' ? 'backend.py' : 'backend.js';

  const manifest = {
    // Editors complete and explain fields from the schema; the gateway ignores this key.
    ...(existsSync(schemaPath) ? { $schema: insideRepo ? posixRelative(dir, schemaPath) : `file://${schemaPath.split(sep).join('/')}` } : {}),
    manifest_version: 3,
    id: options.id,
    name,
    version: '0.1.0',
    description,
    content_scripts: [{ matches: options.matches?.length ? options.matches : [...SCAFFOLD_DEFAULT_MATCHES], js: ['content.js'], run_at: 'document_idle' }],
    ...(backend === 'web-ai' ? {} : { inference: { default_mode: 'local', local_entry: entry, models: [] } }),
  };
  const values = {
    id: options.id,
    name,
    description,
    typesReference: existsSync(typesPath) ? `/// <reference path="${posixRelative(dir, typesPath)}" />\n` : '',
    ...(backend === 'web-ai'
      ? { contentRole: 'uses the standard `LanguageDetector` (docs/WEBAI.md); no backend', backendRows: '', badgeSays: "which language the page is in (the first time, a button downloads the model)", backendEdit: '' }
      : {
          contentRole: `calls the backend with \`window.AiPlugs.infer('${options.id}', payload)\``,
          backendRows: `| \`${entry}\` | the backend: \`run(payload)\` answers every \`infer\` call |\n| \`test/\` | the backend's unit test: \`npm test\` in this folder |\n`,
          badgeSays: 'how many words the page has',
          backendEdit: '; edit the backend and its worker restarts on the next call',
        }),
  };

  const files: Array<[string, string]> = [
    ['manifest.json', `${JSON.stringify(manifest, null, 2)}\n`],
    ['content.js', await render(backend === 'web-ai' ? 'web-ai/content.js.tmpl' : 'common/content.js.tmpl', values)],
  ];
  let testCommand: string[];
  if (backend === 'web-ai') {
    // Nothing to unit-test without a backend: the script's syntax, then the e2e pattern in docs/PLUGINS.md.
    testCommand = ['node', '--check', 'content.js'];
  } else if (backend === 'node') {
    files.push(['backend.js', await render('node/backend.js.tmpl', values)], ['test/backend.test.js', await render('node/backend.test.js.tmpl', values)]);
    testCommand = ['node', '--test', 'test/'];
  } else {
    files.push(['backend.py', await render('python/backend.py.tmpl', values)], ['test/test_backend.py', await render('python/test_backend.py.tmpl', values)]);
    testCommand = ['python3', '-m', 'unittest', 'discover', '-s', 'test'];
  }
  // type: module makes backend.js and its test ES modules wherever the folder lives.
  const pkg = { name: `aiplugs-plugin-${options.id}`, private: true, type: 'module', scripts: { test: testCommand.join(' ') } };
  files.push(['package.json', `${JSON.stringify(pkg, null, 2)}\n`]);
  files.push(['README.md', await render('common/README.md.tmpl', values)]);

  await mkdir(pluginsDir, { recursive: true });
  try {
    for (const [file, text] of files) {
      await mkdir(dirname(join(dir, file)), { recursive: true });
      await writeFile(join(dir, file), text, { flag: 'wx' });
    }
    const loaded = await loadPlugin(dir, options.id);
    if (loaded.status === 'error') throw new ScaffoldError(`The scaffold does not load (a bug in the templates): ${loaded.errors.join('; ')}`);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { dir, files: files.map(([file]) => file), testCommand };
}
