import { readdir, readlink, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { checkTrustedDirectory } from '../data/trusted-directory.js';
import { readInlineScripts } from './inline-scripts.js';
import { describeJsonError } from './json-error.js';
import { locatePluginFile } from './locate-plugin-file.js';
import { readBoundedFile } from './read-bounded-file.js';
import { pluginRevision } from './plugin-revision.js';
import { formatManifestIssues, manifestSchema, pluginIdSchema, type ContentScript, type PluginManifest } from './manifest-schema.js';
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
  /**
   * The other enabled plugins that declare one of this plugin's model file names, with the hash
   * each declares (the same or another): the provisioner settles a name declared with two hashes.
   */
  modelPeers?: ModelPeer[];
}

/** Another plugin declaring a model file name (see `LoadedPlugin.modelPeers`). */
export interface ModelPeer {
  filename: string;
  plugin: string;
  sha256: string;
}

export interface BrokenPlugin {
  /** The id its manifest declares, else its folder's name; its folderKey when another folder has that id. */
  id: string;
  dir: string;
  status: 'error';
  /** Each problem on its own line, prefixed with its JSON path where there is one. */
  errors: string[];
  /** Its folder (or the plugins folder) is another account's to change: no last good version keeps running. */
  untrusted?: true;
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
 * What a disabled plugin folder is known by when its id belongs to another folder (assignIds): its
 * name and a slash. No id has a slash (pluginIdSchema) and folder names are unique, so it collides
 * with nothing. A folder with no id of its own is known by its name, as long as no plugin has it.
 */
const folderKey = (folderName: string) => `${folderName}/`;

/** The id that a manifest failing validation still declares, if that id itself is valid. */
function declaredId(json: unknown): string | undefined {
  const parsed = pluginIdSchema.safeParse((json as { id?: unknown } | null)?.id);
  return parsed.success ? parsed.data : undefined;
}

/**
 * A manifest lists files, patterns and models: a few KiB. Read whole and parsed at every reload
 * (and by every `aiplugs plugins` command), a bigger file is refused before it is read.
 */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

/**
 * Reads and validates one plugin folder. Never throws: every problem becomes a `BrokenPlugin`
 * so one bad manifest cannot take the others down.
 */
export async function loadPlugin(dir: string, folderName: string): Promise<PluginRecord> {
  const broken = (errors: string[], id = folderName): BrokenPlugin => ({ id, dir, status: 'error', errors });
  let text: string;
  try {
    // The manifest is a file of the plugin like any other: a symlink leading out of the folder
    // (to /etc/passwd, say) is refused before a byte of it is read.
    const located = await locatePluginFile(dir, 'manifest.json');
    if (!located) return broken(['manifest.json: is a symlink that resolves outside the plugin folder; put the manifest itself in the folder']);
    if (!(await stat(located.path)).isFile()) return broken(['manifest.json: is not a file']);
    const bytes = await readBoundedFile(located.path, MAX_MANIFEST_BYTES);
    if (!bytes) return broken([`manifest.json: is larger than a manifest can be (${MAX_MANIFEST_BYTES / 1024 / 1024} MiB at most)`]);
    text = bytes.toString('utf8');
  } catch (error) {
    return broken([`manifest.json: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`]);
  }
  let json: unknown;
  // Editors on Windows (Notepad) save UTF-8 with a byte order mark, which JSON.parse refuses.
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  try {
    json = JSON.parse(source);
  } catch (error) {
    return broken([`manifest.json: ${describeJsonError(source, error as Error)}`]);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) return broken(formatManifestIssues(parsed.error), declaredId(json));
  const manifest = parsed.data;
  const fileProblems = await checkReferencedFiles(dir, manifest);
  if (fileProblems.length > 0) return broken(fileProblems, manifest.id);
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

/** Why a symlink in the plugins folder is not a plugin folder, or null when it leads to a folder. */
async function linkProblem(path: string): Promise<string | null> {
  const problem = await stat(path).then(
    (info) => (info.isDirectory() ? null : 'is not a folder'),
    (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? 'does not exist' : `cannot be reached (${error.code ?? error.message})`),
  );
  if (!problem) return null;
  return `a symlink to "${await readlink(path).catch(() => '?')}", which ${problem}`;
}

/**
 * Why the code in a folder must not run as the user, or null: a plugin's backend runs with the
 * user's rights, so its folder, and the plugins folder that holds it (where anyone who can write
 * adds a plugin, and hot reload loads it), must not be another account's to change
 * (data/trusted-directory.ts; root's are trusted, as a global npm install's plugins are root's).
 * A folder that vanished meanwhile is for loadPlugin to report.
 */
async function untrustedCode(dir: string): Promise<string | null> {
  return checkTrustedDirectory(dir, { trustRoot: true }).catch((error: NodeJS.ErrnoException) =>
    // What cannot be checked (a folder above it unreadable, a link loop) is not trusted either.
    error.code === 'ENOENT' ? null : `not checkable (${error.code ?? error.message})`,
  );
}

/**
 * Loads each plugin folder of `pluginsDir`, in name order: its folders, and its symlinks to folders
 * (`ln -s ~/src/my-plugin plugins/`: the user put them there; the plugin's own files are still held
 * inside the folder the link leads to, locate-plugin-file.ts). Files (a README, a tsconfig.json) and
 * dot-entries are no plugins; a symlink that leads to no folder is reported, not skipped in silence.
 * A folder another account can change (untrustedCode) is disabled unread, every one of them when
 * it is the plugins folder itself.
 */
async function loadPluginFolders(pluginsDir: string): Promise<PluginRecord[]> {
  const entries = (await readdir(pluginsDir, { withFileTypes: true })).filter((entry) => !entry.name.startsWith('.')).sort((a, b) => (a.name < b.name ? -1 : 1));
  const pluginsDirProblem = await untrustedCode(pluginsDir);
  const records = await Promise.all(
    entries.map(async (entry): Promise<PluginRecord | null> => {
      const dir = join(pluginsDir, entry.name);
      if (!entry.isDirectory() && !entry.isSymbolicLink()) return null;
      const untrusted = (error: string): BrokenPlugin => ({ id: entry.name, dir, status: 'error', errors: [error], untrusted: true });
      if (pluginsDirProblem) return untrusted(`the plugins folder ${pluginsDir} is ${pluginsDirProblem}: another account could add or change plugins that run as you; make it yours and not writable by others (chown -R, chmod -R go-w: what is inside counts too)`);
      const problem = entry.isSymbolicLink() ? await linkProblem(dir) : null;
      if (problem) return { id: entry.name, dir, status: 'error', errors: [problem] };
      const folderProblem = await untrustedCode(dir);
      if (folderProblem) return untrusted(`its folder ${dir} is ${folderProblem}: that account could change the code that runs as you; make it yours and not writable by others (chown -R, chmod -R go-w: what is inside counts too), or remove it`);
      return loadPlugin(dir, entry.name);
    }),
  );
  return records.filter((record): record is PluginRecord => record !== null);
}

/**
 * Gives each id to one folder, so that a lookup by id finds the plugin that runs: the first folder
 * whose plugin loads, else the first that declares the id (to say why it is off). Every other folder
 * is disabled and known by its folderKey, saying which folder has the id.
 */
function assignIds(records: PluginRecord[]): PluginRecord[] {
  const owners = new Map<string, PluginRecord>();
  for (const record of records) if (record.status === 'enabled' && !owners.has(record.id)) owners.set(record.id, record);
  for (const record of records) if (!owners.has(record.id)) owners.set(record.id, record);
  return records.map((record): PluginRecord => {
    const owner = owners.get(record.id);
    if (!owner || owner === record) return record;
    const problems = record.status === 'error' ? record.errors : (record.pendingErrors ?? []);
    const taken = `id: "${record.id}" is already used by the plugin in folder "${basename(owner.dir)}"`;
    return { id: folderKey(basename(record.dir)), dir: record.dir, status: 'error', errors: [...problems, taken] };
  });
}

/** The registry's rules across plugins: one folder per id; who shares which model file name. */
const settle = (records: PluginRecord[]) => noteModelPeers(assignIds(records));

/** Loads every plugin folder of `pluginsDir` (see loadPluginFolders) and settles ids and model files among them. */
export async function loadPlugins(pluginsDir: string): Promise<PluginRecord[]> {
  return settle(await loadPluginFolders(pluginsDir));
}

/**
 * A broken edit of a plugin that was running keeps its last good version running, with the
 * problems shown. Found by folder: a manifest too broken to read has no id to find it by.
 */
function keepLastGood(previous: PluginRecord | undefined, record: PluginRecord): PluginRecord {
  // Not for a folder another account can change now: its code would keep running from files that account controls.
  return record.status === 'error' && !record.untrusted && previous?.status === 'enabled' ? { ...previous, pendingErrors: record.errors } : record;
}

/**
 * Models live in one central folder, keyed by file name, so two plugins that declare one name
 * share one file. When they disagree on its hash, neither is disabled here: only the models folder
 * knows whose file is already there (the provisioner decides, see docs/MODELS.md §1). Each plugin
 * is told who else declares its files, with which hash, in `modelPeers`.
 */
function noteModelPeers(records: PluginRecord[]): PluginRecord[] {
  const declarers = new Map<string, ModelPeer[]>();
  for (const record of records) {
    if (record.status !== 'enabled') continue;
    for (const model of record.manifest.inference?.models ?? []) {
      const list = declarers.get(model.filename) ?? [];
      if (!list.some((peer) => peer.plugin === record.id)) list.push({ filename: model.filename, plugin: record.id, sha256: model.sha256 });
      declarers.set(model.filename, list);
    }
  }
  return records.map((record): PluginRecord => {
    if (record.status !== 'enabled') return record;
    const rest: LoadedPlugin = { ...record };
    delete rest.modelPeers; // a last good version kept from before carries the old list
    const filenames = new Set((record.manifest.inference?.models ?? []).map((model) => model.filename));
    const peers = [...filenames].flatMap((filename) => (declarers.get(filename) ?? []).filter((peer) => peer.plugin !== record.id));
    return peers.length > 0 ? { ...rest, modelPeers: peers } : rest;
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
  /** Told about every disabled plugin folder, once per load (a broken edit of a running one shows as its `pendingErrors`). */
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
    const previous = new Map(records.map((record) => [record.dir, record]));
    // Before settling ids: a last good version takes part in them as the running plugin it is.
    const next = settle((await loadPluginFolders(options.pluginsDir)).map((record) => keepLastGood(previous.get(record.dir), record)));
    for (const record of next) if (record.status === 'error') options.onBroken?.(record);
    const fingerprint = (record: PluginRecord | undefined) => (record ? `${record.status}:${record.status === 'enabled' ? record.revision : record.errors.join()}` : 'gone');
    const ids = new Set([...byId.keys(), ...next.map((record) => record.id)]);
    // Settled records have one id each (assignIds): the map and the list agree on every id.
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
