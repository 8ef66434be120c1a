import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { formatManifestIssues, manifestSchema, type ContentScript, type PluginManifest } from './manifest-schema.js';
import { compileContentScript, contentScriptCovers, type CompiledContentScript } from './url-matcher.js';

export interface LoadedPlugin {
  id: string;
  dir: string;
  status: 'enabled';
  manifest: PluginManifest;
  contentScripts: CompiledContentScript[];
}

export interface BrokenPlugin {
  id: string;
  dir: string;
  status: 'error';
  /** Each problem on its own line, prefixed with its JSON path where there is one. */
  errors: string[];
}

export type PluginRecord = LoadedPlugin | BrokenPlugin;

/** A plugin whose scripts apply to a URL, with just the content scripts that matched. */
export interface PluginMatch {
  plugin: LoadedPlugin;
  scripts: ContentScript[];
}

/** Every file a manifest names must exist and, after resolving symlinks, stay inside the plugin folder. */
async function checkReferencedFiles(dir: string, manifest: PluginManifest): Promise<string[]> {
  const root = await realpath(dir);
  const referenced = [
    ...manifest.content_scripts.flatMap((script, index) => [
      ...script.js.map((file, i) => ({ file, where: `content_scripts[${index}].js[${i}]` })),
      ...script.css.map((file, i) => ({ file, where: `content_scripts[${index}].css[${i}]` })),
    ]),
    ...(manifest.inference?.local_entry ? [{ file: manifest.inference.local_entry, where: 'inference.local_entry' }] : []),
  ];
  const problems = await Promise.all(
    referenced.map(async ({ file, where }) => {
      try {
        const real = await realpath(join(dir, file));
        if (!real.startsWith(root + sep)) return `${where}: "${file}" resolves outside the plugin folder`;
        if (!(await stat(real)).isFile()) return `${where}: "${file}" is not a file`;
        return null;
      } catch {
        return `${where}: file "${file}" does not exist`;
      }
    }),
  );
  return problems.filter((problem): problem is string => problem !== null);
}

/**
 * Reads and validates one plugin folder. Never throws: every problem becomes a `BrokenPlugin`
 * so one bad manifest cannot take the others down.
 */
export async function loadPlugin(dir: string, folderName: string): Promise<PluginRecord> {
  const broken = (errors: string[]): BrokenPlugin => ({ id: folderName, dir, status: 'error', errors });
  let text: string;
  try {
    text = await readFile(join(dir, 'manifest.json'), 'utf8');
  } catch (error) {
    return broken([`manifest.json: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return broken([`manifest.json: invalid JSON (${(error as Error).message})`]);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) return broken(formatManifestIssues(parsed.error));
  const manifest = parsed.data;
  const fileProblems = await checkReferencedFiles(dir, manifest);
  if (fileProblems.length > 0) return { ...broken(fileProblems), id: manifest.id };
  return { id: manifest.id, dir, status: 'enabled', manifest, contentScripts: manifest.content_scripts.map(compileContentScript) };
}

/** Loads every `<pluginsDir>/<folder>/manifest.json`; duplicate ids after the first are reported broken. */
export async function loadPlugins(pluginsDir: string): Promise<PluginRecord[]> {
  const entries = await readdir(pluginsDir, { withFileTypes: true });
  const folders = entries.filter((entry) => entry.isDirectory() && !entry.name.startsWith('.')).map((entry) => entry.name).sort();
  const records = await Promise.all(folders.map((name) => loadPlugin(join(pluginsDir, name), name)));
  const seen = new Set<string>();
  return records.map((record) => {
    if (!seen.has(record.id)) {
      seen.add(record.id);
      return record;
    }
    return { id: record.id, dir: record.dir, status: 'error', errors: [`id: "${record.id}" is already used by another plugin folder`] };
  });
}

export interface PluginRegistry {
  list(): PluginRecord[];
  get(id: string): PluginRecord | undefined;
  /** Enabled plugins with at least one content script covering `url`, in id order. */
  matching(url: string): PluginMatch[];
  /** Re-reads the plugins folder; returns the new list. */
  reload(): Promise<PluginRecord[]>;
}

export interface PluginRegistryOptions {
  pluginsDir: string;
  /** Told about every broken plugin, once per load. */
  onBroken?: (plugin: BrokenPlugin) => void;
}

/**
 * The plugin registry: the one place that knows which plugins exist and which pages they cover.
 *
 * @example
 *   const registry = await createPluginRegistry({ pluginsDir: 'plugins', onBroken: (p) => log.warn(p.errors.join('; ')) });
 *   registry.matching('https://example.com/'); // → [{ plugin, scripts }]
 */
export async function createPluginRegistry(options: PluginRegistryOptions): Promise<PluginRegistry> {
  let records: PluginRecord[] = [];
  let byId = new Map<string, PluginRecord>();
  const reload = async () => {
    const next = await loadPlugins(options.pluginsDir);
    for (const record of next) if (record.status === 'error') options.onBroken?.(record);
    records = next;
    byId = new Map(next.map((record) => [record.id, record]));
    return records;
  };
  await reload();
  return {
    list: () => records,
    get: (id) => byId.get(id),
    matching: (url) =>
      records.flatMap((record) => {
        if (record.status !== 'enabled') return [];
        const scripts = record.contentScripts.filter((compiled) => contentScriptCovers(compiled, url)).map((compiled) => compiled.script);
        return scripts.length > 0 ? [{ plugin: record, scripts }] : [];
      }),
    reload,
  };
}
