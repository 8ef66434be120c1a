import type { RuntimeWindow } from './page-world.js';

/**
 * The elements the proxy wrote into the head for a plugin (its style sheets, its `document_start`
 * scripts, its `document_end` files as `<script defer>`) belong to the plugin's first run in this
 * document. When that run ends while the document still loads (the extension stops the plugin, or
 * stops and starts it again), they must neither run nor apply after it, or a stopped plugin's
 * deferred file ran all the same, and a restarted one's ran twice (helper-86).
 *
 * Removing a script element is not enough for that. One the parser has not reached yet is taken as
 * the parser adds it: the parser performs a microtask checkpoint before it runs a script it has just
 * parsed (HTML, tree construction, "an end tag whose tag name is script"), which is where the
 * observer's callback runs. One already parsed runs even once removed, unless its node document is
 * no longer the one it was prepared in (HTML, "execute the script element"): so each is adopted into
 * a document of its own, never shown.
 */
export interface ProxyElements {
  /** Takes the plugin's proxy-written elements out of the document, now and as the parser adds them. */
  retire(pluginId: string): void;
  /** The same for every plugin: a load where the runtime stands down (entry.ts). */
  retireAll(): void;
  /** The plugin's first run ended: the proxy's `document_idle` files for it are not for a later run either. */
  isRetired(pluginId: string): boolean;
  /** An element the runtime adds for a later run of the plugin: retiring the plugin leaves it alone. */
  spare<T extends Element>(element: T): T;
}

/** @param written the plugins the proxy wrote elements for (the page config's `plugins`): retiring another is nothing to do. */
export function createProxyElements(w: RuntimeWindow, written: readonly string[]): ProxyElements {
  const doc = w.document;
  // Taken at start-up, as the rest of the runtime's DOM functions are (page-world.ts).
  const { adoptNode, querySelectorAll } = w.Document.prototype;
  const { getAttribute } = w.Element.prototype;
  const createDocument = w.DOMImplementation.prototype.createHTMLDocument;
  const implementation = doc.implementation;
  const Observer = w.MutationObserver;
  const retired = new Set<string>();
  const spared = new WeakSet<Element>();
  let all = false;
  let elsewhere: Document | null = null;
  let observer: MutationObserver | null = null;

  const isRetired = (pluginId: string) => all || retired.has(pluginId);

  function takeOut(element: Element): void {
    const pluginId = getAttribute.call(element, 'data-aiplugs-plugin');
    if (pluginId === null || !isRetired(pluginId) || spared.has(element)) return;
    elsewhere = elsewhere || createDocument.call(implementation, '');
    adoptNode.call(elsewhere, element);
  }

  // The proxy writes them all before the token that starts the body (head-scanner.ts), so the
  // parser is done with them once the body exists: watching the whole document further cost a
  // page of 100,000 elements seconds before DOMContentLoaded (helper-90). Neither is an event a
  // page script could fake.
  const headParsed = () => doc.body !== null || doc.readyState !== 'loading';

  function sweep(): void {
    const present = querySelectorAll.call(doc, '[data-aiplugs-plugin]');
    for (let i = 0; i < present.length; i += 1) takeOut(present[i] as Element);
    if (observer || headParsed()) return;
    const watching = new Observer((records) => {
      for (const record of records) {
        record.addedNodes.forEach((node) => {
          if (node.nodeType === 1) takeOut(node as Element);
        });
      }
      if (headParsed()) watching.disconnect();
    });
    observer = watching;
    watching.observe(doc, { childList: true, subtree: true });
  }

  return {
    retire(pluginId) {
      if (written.indexOf(pluginId) < 0) return;
      retired.add(pluginId);
      sweep();
    },
    retireAll() {
      all = true;
      sweep();
    },
    isRetired,
    spare(element) {
      spared.add(element);
      return element;
    },
  };
}
