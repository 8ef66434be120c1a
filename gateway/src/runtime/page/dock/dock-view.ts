import type { PageWorld } from '../page-world.js';
import type { DockEntry, DockRegistry } from './dock-registry.js';
import { boxAt, chooseCorner, coversPageUi, type DockCorner } from './dock-placement.js';
import { DOCK_CSS } from './dock-style.js';

export interface DockView {
  /** Redraws from the registry; removes the dock from the page when it is empty. */
  render(): void;
}

export const DOCK_TAG = 'aiplugs-dock';

/** How often the dock looks whether the page's fixed UI came under it: a few hit tests each time. */
const PLACEMENT_CHECK_MS = 1000;

/**
 * The dock in the page: one element in the bottom-right corner holding a CLOSED shadow root, so
 * page scripts cannot reach into it and page CSS cannot style it (see dock-style.ts). Everything
 * is built with `textContent`, never markup, and with the DOM functions the runtime took at
 * start-up (`PageWorld.dom`), before any page script could wrap them: the dock is made at the
 * first `AiPlugs.ui` call, after the page's scripts ran. Collapsing leaves one small toggle; the
 * choice lasts for the page.
 */
export function createDockView(world: PageWorld, registry: DockRegistry): DockView {
  const doc = document;
  const { createElement: create, attachShadow, showPopover, MutationObserver: Observer, CSSStyleSheet: Sheet } = world.dom;

  const host = create(DOCK_TAG);
  host.setAttribute('data-aiplugs', 'dock');
  // In the top layer (a manual popover, which nothing dismisses), the dock is above any z-index a
  // page uses (a cookie wall at the maximum covered it) and placed against the window whatever the
  // page transforms (a transformed <html> carried it off screen). Only a later top-layer element
  // (a modal dialog the page opens) goes over it.
  if (showPopover) host.setAttribute('popover', 'manual');
  const root = attachShadow(host, { mode: 'closed' });
  const sheet = new Sheet();
  sheet.replaceSync(DOCK_CSS);
  root.adoptedStyleSheets = [sheet];

  let collapsed = false;
  let menuOpen = false;

  function button(label: string, title: string, onClick: () => void, className = ''): HTMLButtonElement {
    const element = create('button');
    element.type = 'button';
    element.textContent = label;
    if (title) element.title = title;
    if (className) element.className = className;
    element.addEventListener('click', (event) => {
      event.stopPropagation();
      onClick();
    });
    return element;
  }

  // The plugin's code runs as its own: an error in it is reported like any uncaught error, never
  // breaking the dock.
  function runEntry(key: number): void {
    try {
      registry.run(key);
    } catch (error) {
      setTimeout(() => {
        throw error;
      }, 0);
    }
  }

  function drawEntry(entry: DockEntry): HTMLElement | null {
    const owner = ` (${entry.pluginId})`;
    if (entry.kind === 'button') {
      const element = button(entry.label, (entry.title || entry.label) + owner, () => runEntry(entry.key));
      element.disabled = entry.disabled;
      element.dataset.plugin = entry.pluginId;
      return element;
    }
    if (entry.kind === 'badge') {
      const element = create('span');
      element.className = `badge ${entry.tone}`;
      element.textContent = entry.label;
      element.title = (entry.title || entry.label) + owner;
      element.dataset.plugin = entry.pluginId;
      return element;
    }
    return null;
  }

  function drawPanel(entry: DockEntry): HTMLElement {
    const panel = create('div');
    panel.className = `panel ${entry.tone}`;
    panel.dataset.plugin = entry.pluginId;
    panel.setAttribute('role', 'status');
    const head = create('div');
    head.className = 'head';
    const title = create('span');
    title.textContent = `${entry.label} · ${entry.pluginId}`;
    head.append(title, button('Close', 'Close this panel', () => registry.setClosed(entry.key, true)));
    const body = create('p');
    body.className = 'body';
    body.textContent = entry.text;
    panel.append(head, body);
    return panel;
  }

  function drawMenu(entries: DockEntry[]): HTMLElement {
    const menu = create('div');
    menu.className = 'menu';
    menu.setAttribute('role', 'menu');
    entries.forEach((entry) => {
      const item = button(entry.label, entry.title || entry.label, () => {
        menuOpen = false;
        render();
        runEntry(entry.key);
      });
      item.setAttribute('role', 'menuitem');
      const owner = create('span');
      owner.className = 'owner';
      owner.textContent = entry.pluginId;
      item.append(owner);
      menu.append(item);
    });
    return menu;
  }

  function render(): void {
    const entries = registry.entries();
    if (entries.length === 0) {
      host.remove();
      menuOpen = false;
      return;
    }
    const dock = create('div');
    dock.className = 'dock';
    const commands = entries.filter((entry) => entry.kind === 'command');
    const bar = create('div');
    bar.className = 'bar';
    if (!collapsed) {
      entries.filter((entry) => entry.kind === 'panel' && !entry.closed).forEach((entry) => dock.append(drawPanel(entry)));
      if (menuOpen && commands.length > 0) dock.append(drawMenu(commands));
      entries.forEach((entry) => {
        const element = drawEntry(entry);
        if (element) bar.append(element);
      });
      if (commands.length > 0) {
        bar.append(
          button('⋯', 'Plugin commands', () => {
            menuOpen = !menuOpen;
            render();
          }, 'toggle menu-toggle'),
        );
      }
    }
    const toggle = button(collapsed ? `AiPlugs ${entries.filter((entry) => entry.kind !== 'command').length}` : '›', collapsed ? 'Show the AiPlugs dock' : 'Collapse the AiPlugs dock', () => {
      collapsed = !collapsed;
      render();
    }, 'toggle collapse');
    toggle.setAttribute('aria-expanded', String(!collapsed));
    bar.append(toggle);
    dock.append(bar);
    root.replaceChildren(dock);
    attach();
    place();
  }

  // Out of the way of the page's own fixed controls (dock-placement.ts), looked at again as the
  // page changes: a cookie bar or a chat launcher often comes a while after the page.
  let corner: DockCorner = 'bottom-right';
  const style = world.w.getComputedStyle.bind(world.w);
  function place(): void {
    if (!host.isConnected) return;
    const rect = host.getBoundingClientRect();
    const view = { width: doc.documentElement.clientWidth || world.w.innerWidth, height: doc.documentElement.clientHeight || world.w.innerHeight };
    const next = chooseCorner(corner, (candidate) => coversPageUi(doc, boxAt(candidate, rect, view), host, style));
    if (next === corner) return;
    corner = next;
    if (corner === 'bottom-right') host.removeAttribute('data-corner');
    else host.setAttribute('data-corner', corner);
  }
  world.listen('resize', place);
  world.w.setInterval(place, PLACEMENT_CHECK_MS);

  // A page that clears its document (an SPA router replacing <body>, a new root element,
  // document.open and write) gets the dock back.
  const observer = new Observer(() => {
    if (!host.isConnected && registry.entries().length > 0) attach();
  });
  observer.observe(doc, { childList: true });
  function attach(): void {
    if (host.isConnected) return;
    const parent = doc.documentElement;
    if (!parent) return;
    world.dom.appendChild(parent, host);
    observer.observe(parent, { childList: true });
    // Leaving the document took it out of the top layer.
    if (showPopover) showPopover(host);
  }

  return { render };
}
