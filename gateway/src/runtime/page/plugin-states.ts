import type { PageWorld } from './page-world.js';

export type PluginState = 'running' | 'stopped' | 'error';

export interface PluginRecord {
  state: PluginState;
  error: string;
  /** `onStop` callbacks, called once when the plugin is switched off. */
  stops: Array<(info: AiPlugsStopInfo) => void>;
}

/**
 * The state of each plugin in this page, in the order they first appeared, reported to the
 * extension's ISOLATED content script (`aiplugs:runtime-status`) to keep the tab's badge and popup
 * current.
 */
export interface PluginStates {
  get(id: string): PluginRecord | undefined;
  /** The plugin's record, created (running) when it is new. */
  record(id: string): PluginRecord;
  setState(id: string, state: PluginState, error?: string): void;
  /** Ids of the plugins not stopped, in order. */
  running(): string[];
  /** Every id known, in order. */
  ids(): readonly string[];
  report(): void;
  /** Adds the page's menu commands (the dock's) to every report, for the extension's popup. */
  reportCommandsFrom(source: () => unknown[]): void;
}

export function createPluginStates(world: PageWorld, version: string | undefined, initial: readonly string[]): PluginStates {
  const { w } = world;
  const plugins = new Map<string, PluginRecord>();
  const order: string[] = [];

  function record(id: string): PluginRecord {
    let plugin = plugins.get(id);
    if (!plugin) {
      plugin = { state: 'running', error: '', stops: [] };
      plugins.set(id, plugin);
      order.push(id);
    }
    return plugin;
  }
  initial.forEach(record);
  let commands: () => unknown[] = () => [];

  function report(): void {
    const list = order.map((id) => {
      const plugin = record(id);
      return { id, state: plugin.state, error: plugin.error || undefined };
    });
    world.emit('aiplugs:runtime-status', world.toJson({ url: w.location.href, transport: world.transport, version, plugins: list, commands: commands() }));
  }
  world.listen('aiplugs:status-request', () => {
    report();
  });

  return {
    get: (id) => plugins.get(id),
    record,
    setState(id, state, error) {
      const plugin = record(id);
      if (plugin.state === state && plugin.error === (error || '')) return;
      plugin.state = state;
      plugin.error = error || '';
      report();
    },
    running: () => order.filter((id) => record(id).state !== 'stopped'),
    ids: () => order,
    report,
    reportCommandsFrom(source) {
      commands = source;
    },
  };
}

/** The plugin id of a bridge URL (`<bridge>/api/plugins/<id>/…`), or null for any other URL. */
export function pluginOfBridgeUrl(bridge: string, url: unknown): string | null {
  const prefix = `${bridge}/api/plugins/`;
  if (typeof url !== 'string' || url.indexOf(prefix) !== 0) return null;
  try {
    return decodeURIComponent(url.slice(prefix.length).split('/')[0] ?? '');
  } catch {
    return null;
  }
}

/** Static tags the proxy wrote (`document_start` / `document_end`) report load failures here. */
export function watchStaticTags(world: PageWorld, states: PluginStates): void {
  // A plugin's script element goes once it has run (see entry.ts for why): the `document_end`
  // files the proxy wrote, and the ones the runtime adds. On the document: a `load` event never
  // reaches the window (DOM, "get the parent" of a Document).
  document.addEventListener(
    'load',
    (event) => {
      const target = event.target as (EventTarget & { tagName?: string; src?: string; remove?: () => void }) | null;
      if (target && target.tagName === 'SCRIPT' && pluginOfBridgeUrl(world.bridge, target.src) && target.remove) target.remove();
    },
    true,
  );
  world.listen(
    'error',
    (event) => {
      const target = event.target as (EventTarget & { tagName?: string; src?: string; href?: string }) | null;
      if (!target || target === world.w || !target.tagName) return;
      const url = target.src || target.href;
      const id = pluginOfBridgeUrl(world.bridge, url);
      if (id && states.get(id)) states.setState(id, 'error', `Could not load ${url}`);
    },
    true,
  );
}
