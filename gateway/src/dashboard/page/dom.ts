/** Small typed DOM helpers: every value from the gateway goes into text, never into HTML. */

type ElementClass<T extends HTMLElement> = { new (): T; prototype: T };

/** The element with this id, checked to be of the expected kind (the page's markup is ours). */
export function byId<T extends HTMLElement = HTMLElement>(id: string, kind?: ElementClass<T>): T {
  const element = document.getElementById(id);
  if (!element || !(element instanceof (kind ?? HTMLElement))) throw new Error(`dashboard markup: #${id} is missing or not a ${kind?.name ?? 'HTMLElement'}`);
  return element as T;
}

export type Child = Node | string | number | null | undefined | Child[];
type AttributeValue = string | number | boolean | null | undefined | EventListener;

/** Creates an element with attributes (`on…` ones become listeners) and children (strings become text nodes). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, AttributeValue> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = String(value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of (children as unknown[]).flat(Infinity) as Array<Node | string | number | null | undefined>) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/**
 * A table cell labelled for narrow screens, where dashboard.css shows each row as a card of
 * label/content pairs; the content is one element so the label always sits beside all of it.
 */
export const cell = (label: string, ...children: Child[]) => el('td', { 'data-label': label }, el('div', {}, ...children));

/** A state shown as a coloured pill (`state-<name>` in dashboard.css). */
export const pill = (state: string) => el('span', { class: `pill state-${state}` }, state);

/**
 * A table body of one row per plugin, kept from events: `update` replaces that plugin's row and
 * redraws the rows sorted by plugin id; the table's note ("nothing yet") hides on the first one.
 */
export function pluginRows<T extends { plugin: string }>(bodyId: string, noteId: string, row: (item: T) => HTMLTableRowElement): (item: T) => void {
  const items = new Map<string, T>();
  return (item) => {
    items.set(item.plugin, item);
    byId(noteId).hidden = true;
    byId(bodyId).replaceChildren(...[...items.values()].sort((a, b) => a.plugin.localeCompare(b.plugin)).map(row));
  };
}
