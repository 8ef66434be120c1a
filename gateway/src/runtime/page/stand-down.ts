import type { RuntimeWindow } from './page-world.js';

/**
 * A load the user asked to have without plugins ("Reload without plugins" in the extension) that
 * reached the proxy without the extension's mark, so it was injected anyway: a document a site's
 * service worker fetched or kept (its requests belong to no tab, and the extension's rule is the
 * tab's), or one from a cache. The extension's document_start hook still marked the load, so the
 * runtime stands down, and the plugin elements the proxy wrote after it in the head are taken out
 * of the document as the parser adds them: inline `document_start` scripts, script tags and style
 * sheets. The parser performs a microtask checkpoint before it runs a script it has just parsed
 * (HTML, tree construction, "an end tag whose tag name is script"), which is where this observer's
 * callback runs, and a script no longer in the document never runs. (Firefox prepares a `defer`
 * script before that checkpoint, so there a `document_end` file of such a document still runs.)
 */
export function dropPluginElements(w: RuntimeWindow): void {
  const document = w.document;
  const observer = new w.MutationObserver((records) => {
    for (const record of records) {
      record.addedNodes.forEach((node) => {
        if (node.nodeType === 1 && (node as Element).hasAttribute('data-aiplugs-plugin')) (node as Element).remove();
      });
    }
  });
  observer.observe(document.documentElement, { childList: true, subtree: true });
  // The proxy writes them only into the head, so parsing is done with them by DOMContentLoaded.
  document.addEventListener('DOMContentLoaded', () => observer.disconnect(), { once: true });
}
