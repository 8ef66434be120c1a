// The page runtime: injected before any page script, by the proxy (transport "bridge") or by the
// companion extension for documents the proxy never saw (transport "extension"). esbuild bundles
// this file and its imports into one script (gateway/build/browser-bundles.ts); the gateway wraps
// it in a function of the page's config (runtime/page-runtime.ts).
import { createConnect } from './connections.js';
import { createPageUi } from './dock/page-ui.js';
import { createInfer } from './infer.js';
import { createLifecycle } from './lifecycle.js';
import { createFileLoader } from './loading.js';
import { createOnNavigate, installNavigationHook } from './navigation.js';
import { capturePageWorld, NAVIGATION_HOOK, type RuntimeWindow } from './page-world.js';
import { createPluginStates, watchStaticTags } from './plugin-states.js';
import { createProxyElements } from './proxy-elements.js';
import type { PageRuntimeConfig } from './runtime-config.js';
import { createTransport } from './transports.js';
import { installWebAi } from './webai/install-webai.js';

/**
 * This page's config: the parameter of the function the gateway wraps around the bundle. It comes
 * from markup any page script could have touched first, so every field is checked where it is read.
 */
declare const AIPLUGS_PAGE_CONFIG: Partial<PageRuntimeConfig> | null | undefined;

function startPageRuntime(config: Partial<PageRuntimeConfig>): void {
  const w = window as unknown as RuntimeWindow;
  if (w.AiPlugs && w.AiPlugs.runtime) return; // the proxy and the extension fallback both got here
  const proxyElements = createProxyElements(w, Array.isArray(config.plugins) ? config.plugins : []);
  // "Reload without plugins": the extension's document_start script marked this one load
  // plugin-free, and the proxy injected it all the same. That is a document the site's service
  // worker fetched or kept (its requests belong to no tab, and the extension's mark is the tab's),
  // or one from a cache. The runtime stands down, and no element the proxy wrote runs or applies.
  const existingHook = w[NAVIGATION_HOOK];
  if (existingHook && existingHook.suppressed) {
    proxyElements.retireAll();
    return;
  }
  // An opaque origin (a `sandbox` policy without allow-same-origin, a sandboxed frame) is refused
  // by the bridge, its own site's path included: no plugin file would load and no call would go
  // through, only errors in the console. The extension's transport does not use the bridge.
  if (config.transport !== 'extension' && w.origin === 'null') {
    proxyElements.retireAll();
    return;
  }

  const world = capturePageWorld(w, config);
  const states = createPluginStates(world, config.version, config.plugins || []);
  watchStaticTags(world, states);
  const transport = createTransport(world);
  installNavigationHook(world);
  const loader = createFileLoader(world, states, transport, proxyElements);
  const ui = createPageUi(world, states);
  const lifecycle = createLifecycle(world, states, loader, (pluginId) => {
    proxyElements.retire(pluginId);
    ui.endRun(pluginId);
  });
  states.reportCommandsFrom(ui.commands);
  // Plugins the gateway cannot serve here (their mode is the cloud and none is configured).
  const unavailable = Array.isArray(config.unavailable) ? config.unavailable.filter((id) => typeof id === 'string') : [];
  loader.loadIdleScripts(config.idle || []);

  const api: AiPlugsPageRuntime = {
    // Left as given when the markup lost it: a runtime without a version still runs its plugins.
    runtime: config.version as string,
    transport: world.transport,
    infer: createInfer(transport, states),
    modelStatus: (pluginId, options) => transport.modelStatus(pluginId, options && options.signal) as Promise<AiPlugsModelStatus>,
    connect: createConnect(world),
    onNavigate: createOnNavigate(world),
    onStop: lifecycle.onStop,
    ui: ui.api,
    isAvailable: (pluginId) => states.get(pluginId) !== undefined && unavailable.indexOf(pluginId) < 0,
    get plugins() {
      return Object.freeze(states.running());
    },
  };
  // Through the bridge only: the extension transport has no Web AI path (docs/WEBAI.md).
  if (config.webai && typeof config.webai === 'object' && world.transport === 'bridge') {
    try {
      installWebAi(world, config.webai);
    } catch (error) {
      // A browser missing something Web AI needs must not cost the page its plugins: reported, not thrown.
      w.setTimeout(() => {
        throw error;
      }, 0);
    }
  }
  w.AIPLUGS_API_PORT = config.apiPort;
  // Read-only, so a page's `window.AiPlugs = …` does not replace it under its plugins; configurable,
  // or a page's own top-level `let AiPlugs` (or const, class, function) is an error and none of that
  // script runs. Such a page keeps the name for itself, as a page that calls a global of its own
  // by a name a plugin also uses does: the page works, its plugins may not (docs/PLUGINS.md).
  Object.defineProperty(w, 'AiPlugs', { value: Object.freeze(api), configurable: true, enumerable: false, writable: false });
  // For the extension only (it runs in this world through scripting.executeScript). A page can call
  // it too, which gains it nothing it could not do already: no token, no plugin the tab may not use.
  Object.defineProperty(w, '__aiplugsRuntime', {
    value: Object.freeze({ transport: world.transport, reconcile: lifecycle.reconcile, report: states.report, running: states.running }),
  });
  const hook = w[NAVIGATION_HOOK];
  if (hook && typeof hook.runtimeReady === 'function') hook.runtimeReady(world.transport);
  states.report();
}

// The element the proxy wrote the runtime in goes once it has run, as each plugin element does once
// it has (plugin-states.ts, injection-markup.ts): a page that hydrates its whole document (React's
// hydrateRoot(document), as Remix does) found our script first in its <head>, and threw its server
// render away (helper-78).
const runtimeElement = document.currentScript;
startPageRuntime(AIPLUGS_PAGE_CONFIG || {});
if (runtimeElement && runtimeElement.getAttribute('data-aiplugs') === 'runtime') runtimeElement.remove();
