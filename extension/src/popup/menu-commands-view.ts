import browser from 'webextension-polyfill';
import { StorageKey, type MenuCommand, type TabState } from '../common/protocol';
import { ask } from '../common/ask-background';
import { shownTabState, targetTabId } from './popup-view';

/**
 * The popup's commands, grouped by plugin: what the page runtime last reported for the tab, for
 * plugins the gateway says match it and are switched on there only (any page script can report
 * commands, and credited them to any installed plugin it named).
 */
export function commandGroups(state: TabState | null): Array<{ pluginId: string; name: string; commands: MenuCommand[] }> {
  const names = new Map((state?.matched ?? []).filter((plugin) => plugin.active).map((plugin) => [plugin.id, plugin.name]));
  const groups = new Map<string, MenuCommand[]>();
  for (const command of state?.runtime?.commands ?? []) {
    if (names.has(command.pluginId)) groups.set(command.pluginId, [...(groups.get(command.pluginId) ?? []), command]);
  }
  return [...groups].map(([pluginId, commands]) => ({ pluginId, name: names.get(pluginId)!, commands }));
}

/**
 * The "Commands" list of the popup (what userscript managers show for GM_registerMenuCommand):
 * each plugin's menu commands for the tab; a click runs the command in the page and closes the
 * popup. Mounted after the tab's plugin list; hidden while the tab has none.
 */
export async function mountMenuCommands(): Promise<void> {
  const tabId = await targetTabId();
  const anchor = document.getElementById('plugins');
  if (tabId === null || !anchor) return;
  const section = document.createElement('div');
  section.id = 'menu-commands';
  section.dataset.testid = 'menu-commands';
  const heading = document.createElement('h2');
  heading.textContent = 'Commands';
  const list = document.createElement('ul');
  section.append(heading, list);
  anchor.after(section);

  const render = (state: TabState | null) => {
    const groups = commandGroups(state);
    section.hidden = groups.length === 0;
    list.replaceChildren(
      ...groups.flatMap(({ pluginId, name, commands }) =>
        commands.map((command) => {
          const item = document.createElement('li');
          const button = document.createElement('button');
          button.type = 'button';
          button.textContent = command.label;
          button.title = `${name}: ${command.label}`;
          button.dataset.plugin = pluginId;
          button.dataset.testid = 'menu-command';
          const owner = document.createElement('span');
          owner.className = 'muted';
          owner.textContent = name;
          button.addEventListener('click', () => {
            button.disabled = true;
            void ask({ type: 'run-menu-command', tabId, pluginId, commandId: command.id }).then(
              () => {
                // Opened as a page (tests) the popup stays; as the toolbar popup it goes, like a menu.
                if (!new URLSearchParams(location.search).has('tabId')) window.close();
                button.disabled = false;
              },
              (error: unknown) => {
                button.disabled = false;
                button.title = `Could not run it: ${(error as Error).message}`;
              },
            );
          });
          item.append(button, owner);
          return item;
        }),
      ),
    );
  };

  render(await shownTabState(tabId));
  browser.storage.onChanged.addListener((changes, area) => {
    const change = area === 'session' ? changes[StorageKey.tab(tabId)] : undefined;
    if (change) render((change.newValue as TabState | undefined) ?? null);
  });
}
