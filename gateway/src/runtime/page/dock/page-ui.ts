import type { PageWorld } from '../page-world.js';
import type { PluginStates } from '../plugin-states.js';
import { createDockRegistry, type DockCommand, type DockKind, type DockRegistry } from './dock-registry.js';
import { createDockView } from './dock-view.js';

/** The extension's relay asks the runtime to run a menu command (`detail`: JSON `{pluginId, id}`). */
export const MENU_COMMAND_EVENT = 'aiplugs:menu-command';

export interface PageUi {
  api: AiPlugsUi;
  /** The menu commands now registered, for the runtime's status report. */
  commands(): DockCommand[];
  /** The plugin's run ended (stopped or restarting): its entries go. For the lifecycle. */
  endRun(pluginId: string): void;
}

/**
 * `AiPlugs.ui`: the dock plugins put their buttons, badges, panels and menu commands in. Every
 * entry belongs to the plugin it was registered for, which must be running in this page; when
 * that plugin stops (switched off, "Pause all") its entries go, and when it starts again its
 * scripts run again and register them anew.
 */
export function createPageUi(world: PageWorld, states: PluginStates): PageUi {
  let registry: DockRegistry | null = null;
  let reported = '[]';
  // The view is built on the first registration: a page whose plugins never use the dock gets no element.
  function dock(): DockRegistry {
    if (registry) return registry;
    let view: { render(): void } | null = null;
    const created = createDockRegistry(() => {
      view?.render();
      // The extension's popup lists the commands: tell it when they change, not on every badge update.
      const now = world.toJson(created.commands());
      if (now === reported) return;
      reported = now;
      states.report();
    });
    view = createDockView(world, created);
    registry = created;
    return created;
  }

  function owner(pluginId: unknown): string {
    const id = typeof pluginId === 'string' ? pluginId : '';
    const plugin = states.get(id);
    if (!plugin || plugin.state === 'stopped') throw new Error(`AiPlugs.ui: plugin "${id}" is not running in this page`);
    return id;
  }

  function register(kind: DockKind, pluginId: unknown, options: unknown, run: unknown): AiPlugsDockItem {
    const id = owner(pluginId);
    if ((kind === 'button' || kind === 'command') && typeof run !== 'function') throw new TypeError(`AiPlugs.ui.${kind === 'command' ? 'menuCommand' : 'button'} needs a function to run`);
    const entries = dock();
    const callback = typeof run === 'function' ? () => void (run as () => unknown)() : null;
    const entry = entries.add(id, kind, options, callback);
    return Object.freeze({
      update: (fields: AiPlugsDockFields) => {
        entries.update(entry.key, fields);
      },
      remove: () => entries.remove(entry.key),
      get removed() {
        return !entries.has(entry.key);
      },
    });
  }

  world.listen(MENU_COMMAND_EVENT, (event) => {
    const detail = (event as CustomEvent).detail;
    let request: unknown = null;
    try {
      request = typeof detail === 'string' && detail.length < 1000 ? world.fromJson(detail) : null;
    } catch {
      return;
    }
    if (!request || typeof request !== 'object' || !registry) return;
    const { pluginId, id } = request as { pluginId?: unknown; id?: unknown };
    const command = registry.commands().find((candidate) => candidate.id === id && candidate.pluginId === pluginId);
    if (command) registry.run(command.id);
  });

  const api: AiPlugsUi = Object.freeze({
    button: (pluginId: string, options: AiPlugsDockButtonOptions) => register('button', pluginId, options, options && options.onClick),
    badge: (pluginId: string, options: AiPlugsDockBadgeOptions) => register('badge', pluginId, options, null),
    panel: (pluginId: string, options: AiPlugsDockPanelOptions) => register('panel', pluginId, options, null),
    menuCommand: (pluginId: string, label: string, run: () => void) => {
      const item = register('command', pluginId, { label }, run);
      return () => item.remove();
    },
  });
  return {
    api,
    commands: () => (registry ? registry.commands() : []),
    endRun: (pluginId) => {
      registry?.removePlugin(pluginId);
    },
  };
}
