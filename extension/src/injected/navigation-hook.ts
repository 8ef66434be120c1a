/**
 * Runs in the page's own world at document_start, before any page script. Two jobs:
 *
 * 1. SPA navigation events. Patches `history.pushState` / `replaceState`, listens to `popstate`,
 *    `hashchange` and the Navigation API, and fires `aiplugs:navigate` with `{from, to, kind}` once
 *    per real URL change. The proxy's page runtime installs the same hook unless it finds this one
 *    under `window.__aiplugsNavigationHook`, so with both present each change still fires once.
 * 2. Injection detection. Watches the parser for the proxy's runtime script (always the first
 *    script of an injected document) and records whether this document has a runtime; the
 *    extension's fallback waits for that decision so the proxy and the extension never both inject.
 */

import { watchUrlChanges, type UrlChangeWindow } from '../../../gateway/src/runtime/page/url-changes';

export const HOOK_PROPERTY = '__aiplugsNavigationHook';
/** sessionStorage flag set by "reload without plugins"; consumed by the next document of the tab. */
export const SKIP_ONCE_KEY = 'aiplugs:skip-once';

export interface NavigationHook {
  owner: 'extension' | 'page-runtime';
  lastUrl: string;
  /** True when this load was asked to run without plugins. */
  suppressed?: boolean;
  /** False until it is known whether the document got a page runtime from the proxy. */
  decided?: boolean;
  /** Which transport the runtime uses, once one is there. */
  runtime?: 'bridge' | 'extension' | null;
  /** Set by the extension's fallback when it injects, so it does so once per document. */
  fallbackClaimed?: boolean;
  whenDecided?: (callback: () => void) => void;
  /** Called by the page runtime when it has installed itself. */
  runtimeReady?: (transport: 'bridge' | 'extension') => void;
}

type HookWindow = Window & typeof globalThis & { [HOOK_PROPERTY]?: NavigationHook; navigation?: EventTarget };

export function installNavigationHook(w: HookWindow = window as HookWindow): NavigationHook {
  const existing = w[HOOK_PROPERTY];
  if (existing) return existing; // a runtime got here first (the extension was loaded late)

  const NativeCustomEvent = w.CustomEvent;
  const dispatch = w.dispatchEvent.bind(w);
  const hook: NavigationHook = { owner: 'extension', lastUrl: w.location.href, decided: false, runtime: null };

  try {
    if (w.sessionStorage.getItem(SKIP_ONCE_KEY)) {
      w.sessionStorage.removeItem(SKIP_ONCE_KEY);
      hook.suppressed = true;
    }
  } catch {
    // storage disabled for this origin: no "reload without plugins" here
  }

  const listen = w.addEventListener.bind(w);
  watchUrlChanges(w as unknown as UrlChangeWindow, hook, (detail) => dispatch(new NativeCustomEvent('aiplugs:navigate', { detail })), (type, listener) => listen(type, listener));

  // --- injection detection ---------------------------------------------------------------------------
  const waiting: Array<() => void> = [];
  const decide = () => {
    if (hook.decided) return;
    hook.decided = true;
    observer.disconnect();
    for (const callback of waiting.splice(0)) {
      try {
        callback();
      } catch (error) {
        setTimeout(() => {
          throw error;
        });
      }
    }
  };
  hook.whenDecided = (callback) => {
    if (hook.decided) callback();
    else waiting.push(callback);
  };
  hook.runtimeReady = (transport) => {
    hook.runtime = transport;
    decide();
  };
  let sawRuntimeTag = false;
  // Mutation records are delivered before the parser runs the script they announce, so a
  // fallback waiting here still runs its document_start scripts before the page's first script.
  const observer = new MutationObserver((records) => {
    for (const record of records) {
      for (const node of Array.from(record.addedNodes)) {
        if (node.nodeName !== 'SCRIPT') continue;
        if ((node as Element).getAttribute('data-aiplugs') === 'runtime') sawRuntimeTag = true;
        else if (!sawRuntimeTag) return decide(); // the page's own script came first: no proxy runtime
      }
    }
  });
  observer.observe(w.document, { childList: true, subtree: true });
  w.document.addEventListener('DOMContentLoaded', decide, { once: true }); // no script at all, or a blocked runtime

  Object.defineProperty(w, HOOK_PROPERTY, { value: hook });
  return hook;
}
