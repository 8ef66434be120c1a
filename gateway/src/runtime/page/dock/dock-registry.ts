/**
 * What the page dock shows, without the DOM: every button, badge, panel and menu command a plugin
 * registered, owned by that plugin's id. The view (dock-view.ts) draws it; the runtime removes a
 * plugin's entries when the plugin stops. Everything a registration brings is page-world input:
 * labels are cut to plain text of a bounded length, and a plugin can hold only so many entries.
 */

export type DockKind = 'button' | 'badge' | 'panel' | 'command';
export type DockTone = 'normal' | 'busy' | 'error';

/** What a plugin may set on an entry (and change later with `update`). */
export interface DockFields {
  label: string;
  title: string;
  /** A panel's body. */
  text: string;
  tone: DockTone;
  disabled: boolean;
  /** A closed panel stays registered and opens again on its next update. */
  closed: boolean;
}

export interface DockEntry extends DockFields {
  /** Unique in this page for its lifetime; menu commands are run by it. */
  key: number;
  pluginId: string;
  kind: DockKind;
  /** The plugin's callback (buttons and menu commands). */
  run: (() => void) | null;
}

/** A menu command as the extension popup sees it. */
export interface DockCommand {
  pluginId: string;
  id: number;
  label: string;
}

export const DOCK_LIMITS = {
  label: 80,
  title: 300,
  text: 20_000,
  /** Entries of one plugin at once: a runaway loop fills the dock with one plugin's row, no more. */
  perPlugin: 24,
} as const;

const TONES: readonly DockTone[] = ['normal', 'busy', 'error'];

/**
 * A value from the page as display text: a string (anything else becomes empty), without control
 * characters except line breaks where `multiline`, at most `max` characters.
 */
export function dockText(value: unknown, max: number, multiline = false): string {
  if (typeof value !== 'string') return '';
  const cleaned = value.slice(0, max * 2).replace(multiline ? /[\u0000-\u0009\u000b-\u001f\u007f]/g : /[\u0000-\u001f\u007f]+/g, multiline ? '' : ' ');
  return cleaned.length > max ? `${cleaned.slice(0, max - 1)}…` : cleaned;
}

/** The fields of a registration or update, cleaned; absent fields are left out (an update keeps them). */
export function dockFields(input: unknown): Partial<DockFields> {
  if (!input || typeof input !== 'object') return {};
  const raw = input as Record<string, unknown>;
  const fields: Partial<DockFields> = {};
  if ('label' in raw) fields.label = dockText(raw.label, DOCK_LIMITS.label);
  if ('title' in raw) fields.title = dockText(raw.title, DOCK_LIMITS.title);
  if ('text' in raw) fields.text = dockText(raw.text, DOCK_LIMITS.text, true);
  if ('tone' in raw) fields.tone = TONES.includes(raw.tone as DockTone) ? (raw.tone as DockTone) : 'normal';
  if ('disabled' in raw) fields.disabled = raw.disabled === true;
  return fields;
}

export interface DockRegistry {
  /** Adds an entry; throws when the plugin already holds `DOCK_LIMITS.perPlugin`. */
  add(pluginId: string, kind: DockKind, input: unknown, run: (() => void) | null): DockEntry;
  /** Changes an entry that is still there; false when it was removed. */
  update(key: number, input: unknown): boolean;
  /** Closes (`closed: true`) or reopens a panel without telling the plugin. */
  setClosed(key: number, closed: boolean): void;
  remove(key: number): void;
  /** Removes every entry of the plugin; true when there were any. */
  removePlugin(pluginId: string): boolean;
  has(key: number): boolean;
  /** Entries in the order they were added. */
  entries(): DockEntry[];
  commands(): DockCommand[];
  /** Runs a menu command or button by key; false when there is no such entry. */
  run(key: number): boolean;
}

/** @param onChange called after every change that alters what is shown. */
export function createDockRegistry(onChange: () => void): DockRegistry {
  const entries = new Map<number, DockEntry>();
  let nextKey = 1;

  function count(pluginId: string): number {
    let n = 0;
    entries.forEach((entry) => {
      if (entry.pluginId === pluginId) n += 1;
    });
    return n;
  }

  return {
    add(pluginId, kind, input, run) {
      if (count(pluginId) >= DOCK_LIMITS.perPlugin) throw new RangeError(`Plugin "${pluginId}" already has ${DOCK_LIMITS.perPlugin} entries in the AiPlugs dock`);
      const entry: DockEntry = { key: nextKey, pluginId, kind, label: '', title: '', text: '', tone: 'normal', disabled: false, closed: false, run, ...dockFields(input) };
      nextKey += 1;
      entries.set(entry.key, entry);
      onChange();
      return entry;
    },
    update(key, input) {
      const entry = entries.get(key);
      if (!entry) return false;
      Object.assign(entry, dockFields(input), entry.kind === 'panel' ? { closed: false } : {});
      onChange();
      return true;
    },
    setClosed(key, closed) {
      const entry = entries.get(key);
      if (!entry || entry.closed === closed) return;
      entry.closed = closed;
      onChange();
    },
    remove(key) {
      if (entries.delete(key)) onChange();
    },
    removePlugin(pluginId) {
      let removed = false;
      entries.forEach((entry, key) => {
        if (entry.pluginId !== pluginId) return;
        entries.delete(key);
        removed = true;
      });
      if (removed) onChange();
      return removed;
    },
    has: (key) => entries.has(key),
    entries: () => Array.from(entries.values()),
    commands: () =>
      Array.from(entries.values())
        .filter((entry) => entry.kind === 'command')
        .map((entry) => ({ pluginId: entry.pluginId, id: entry.key, label: entry.label })),
    run(key) {
      const entry = entries.get(key);
      if (!entry || !entry.run || entry.disabled) return false;
      entry.run();
      return true;
    },
  };
}
