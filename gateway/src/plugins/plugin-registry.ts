import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readInlineScripts } from './inline-scripts.js';
import { locatePluginFile } from './locate-plugin-file.js';
import { pluginRevision } from './plugin-revision.js';
import { formatManifestIssues, manifestSchema, type ContentScript, type PluginManifest } from './manifest-schema.js';
import { compileContentScript, contentScriptCovers, type CompiledContentScript } from './url-matcher.js';

export interface LoadedPlugin {
  id: string;
  dir: string;
  status: 'enabled';
  manifest: PluginManifest;
  contentScripts: CompiledContentScript[];
  /** Changes whenever any file of the plugin changes: workers restart, pages get the new scripts. */
  revision: string;
  /** The text of its `document_start` scripts that documents may carry inline (see inline-scripts.ts). */
  inlineScripts: ReadonlyMap<string, string>;
  /** Set when a later edit broke the plugin: this (last good) version keeps running meanwhile. */
  pendingErrors?: string[];
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
        const located = await locatePluginFile(dir, file);
        if (!located) return `${where}: "${file}" resolves outside the plugin folder`;
        if (!(await stat(located.path)).isFile()) return `${where}: "${file}" is not a file`;
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
  return {
    id: manifest.id,
    dir,
    status: 'enabled',
    manifest,
    contentScripts: manifest.content_scripts.map(compileContentScript),
    revision: await pluginRevision(dir),
    inlineScripts: await readInlineScripts(dir, manifest),
  };
}

/** Loads every `<pluginsDir>/<folder>/manifest.json`; duplicate ids after the first are reported broken. */
export async function loadPlugins(pluginsDir: string): Promise<PluginRecord[]> {
  const entries = await readdir(pluginsDir, { withFileTypes: true });
  const folders = entries.filter((entry) => entry.isDirectory() && !entry.name.startsWith('.')).map((entry) => entry.name).sort();
  const records = await Promise.all(folders.map((name) => loadPlugin(join(pluginsDir, name), name)));
  const seen = new Set<string>();
  const unique = records.map((record): PluginRecord => {
    if (!seen.has(record.id)) {
      seen.add(record.id);
      return record;
    }
    return { id: record.id, dir: record.dir, status: 'error', errors: [`id: "${record.id}" is already used by another plugin folder`] };
  });
  return rejectModelConflicts(unique);
}

/**
 * Models live in one central folder, keyed by file name: two plugins may share a file, but not
 * declare different contents (hashes) under one name, or each would keep replacing the other's.
 * The first plugin (in id order) keeps the name; a later one that disagrees is disabled.
 */
function rejectModelConflicts(records: PluginRecord[]): PluginRecord[] {
  const owners = new Map<string, { id: string; sha256: string }>();
  return records.map((record) => {
    if (record.status !== 'enabled') return record;
    const models = record.manifest.inference?.models ?? [];
    const conflicts = models.flatMap((model, index) => {
      const owner = owners.get(model.filename);
      if (owner && owner.sha256 !== model.sha256) {
        return [`inference.models[${index}].filename: "${model.filename}" is already declared by plugin "${owner.id}" with a different sha256`];
      }
      return [];
    });
    if (conflicts.length > 0) return { id: record.id, dir: record.dir, status: 'error', errors: conflicts };
    for (const model of models) if (!owners.has(model.filename)) owners.set(model.filename, { id: record.id, sha256: model.sha256 });
    return record;
  });
}

export interface PluginRegistry {
  list(): PluginRecord[];
  get(id: string): PluginRecord | undefined;
  /** Enabled plugins with at least one content script covering `url`, in id order. */
  matching(url: string): PluginMatch[];
  /** Re-reads the plugins folder; returns the new list. */
  reload(): Promise<PluginRecord[]>;
  /** Called after a reload with the ids whose revision, status or existence changed. */
  onChange(listener: (changedIds: string[]) => void): () => void;
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
  const listeners = new Set<(changedIds: string[]) => void>();
  const reload = async () => {
    const loaded = await loadPlugins(options.pluginsDir);
    // A broken edit of a plugin that was running keeps the last good version, with the error shown.
    const next = loaded.map((record): PluginRecord => {
      const previous = byId.get(record.id);
      if (record.status !== 'error' || previous?.status !== 'enabled') return record;
      return { ...previous, pendingErrors: record.errors };
    });
    for (const record of loaded) if (record.status === 'error') options.onBroken?.(record);
    const fingerprint = (record: PluginRecord | undefined) => (record ? `${record.status}:${record.status === 'enabled' ? record.revision : record.errors.join()}` : 'gone');
    const ids = new Set([...byId.keys(), ...next.map((record) => record.id)]);
    const nextById = new Map(next.map((record) => [record.id, record]));
    const changed = [...ids].filter((id) => fingerprint(byId.get(id)) !== fingerprint(nextById.get(id)));
    records = next;
    byId = nextById;
    if (changed.length > 0) for (const listener of listeners) listener(changed);
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
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
