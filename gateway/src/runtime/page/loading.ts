import { createIdleMoment } from './idle-moment.js';
import type { PageWorld } from './page-world.js';
import type { PlanFile, RunAt } from './runtime-config.js';
import { pluginOfBridgeUrl, type PluginStates } from './plugin-states.js';
import { pluginSourceUrl } from './plugin-source-url.js';
import type { ProxyElements } from './proxy-elements.js';
import type { Transport } from './transports.js';

/** Adds plugin files to the document, the way this page's transport allows. */
export interface FileLoader {
  loadScript(pluginId: string, file: PlanFile): void;
  addStyle(pluginId: string, file: PlanFile): void;
  /** Runs `callback` when a `run_at` moment has come, relative to where the document is now. */
  whenReady(runAt: RunAt, callback: () => void): void;
  /** The proxy's `document_idle` scripts (config `idle`), at the idle moment (idle-moment.ts). */
  loadIdleScripts(paths: readonly string[]): void;
}

/**
 * A Trusted Types policy that lets only AiPlugs' own bridge URLs become script URLs, on pages that
 * enforce Trusted Types; null where the page's policy names leave ours out (then only the static
 * tags the proxy wrote work).
 */
function scriptUrlPolicy(world: PageWorld): { createScriptURL(url: string): unknown } | null {
  const { w } = world;
  try {
    if (world.transport === 'bridge' && w.trustedTypes && w.trustedTypes.createPolicy) {
      return w.trustedTypes.createPolicy('aiplugs', {
        createScriptURL: (url) => {
          if (String(url).indexOf(`${world.bridge}/`) === 0) return url;
          throw new TypeError('The aiplugs policy only allows AiPlugs plugin scripts');
        },
      });
    }
  } catch {
    // the page's policy names do not include ours
  }
  return null;
}

/** @param proxyElements what the proxy wrote for each plugin: a later run's own elements are spared, a retired run's idle files not loaded. */
export function createFileLoader(world: PageWorld, states: PluginStates, transport: Transport, proxyElements: Pick<ProxyElements, 'isRetired' | 'spare'>): FileLoader {
  const { nonce, dom } = world;
  const policy = scriptUrlPolicy(world);
  const parent = () => document.head || document.documentElement;

  function addScript(src: string, pluginId: string | null): void {
    const element = dom.createElement('script');
    if (nonce) element.nonce = nonce;
    element.async = false; // keep manifest order
    element.src = (policy ? policy.createScriptURL(src) : src) as string;
    if (pluginId) {
      element.onerror = () => {
        states.setState(pluginId, 'error', `Could not load ${src}`);
      };
    }
    dom.appendChild(parent(), element);
  }

  function addStyle(pluginId: string, file: PlanFile): void {
    let element: HTMLStyleElement | HTMLLinkElement;
    if (file.code !== undefined && world.transport === 'extension') {
      element = dom.createElement('style');
      element.textContent = file.code;
    } else {
      const link = dom.createElement('link');
      link.rel = 'stylesheet';
      link.href = world.bridge + file.path;
      element = link;
    }
    if (nonce) element.nonce = nonce;
    element.setAttribute('data-aiplugs-plugin', pluginId);
    proxyElements.spare(element);
    // Each run of the plugin gets a new `stops` list: a run that ended (stopped, or restarted) before the head did adds nothing.
    const run = states.get(pluginId)?.stops;
    afterHead(() => {
      const plugin = states.get(pluginId);
      if (plugin && plugin.state !== 'stopped' && plugin.stops === run) dom.appendChild(parent(), element);
    });
  }

  /**
   * Runs `callback` once the parser has left the head (the body exists), or at once. A style sheet
   * added while the head is being parsed sits ahead of the page's head nodes still to come, and a
   * page that hydrates its whole document (React 18's `hydrateRoot(document)`) threw its server
   * render away over it, and the sheet with it; the proxy puts its sheets at the head's end for the
   * same reason (head-scanner.ts). The observer's callback runs at the parser's next microtask
   * checkpoint, before the page renders or runs another script.
   */
  function afterHead(callback: () => void): void {
    // An XML document (XHTML, SVG) may have no body element at all, and no page hydrates one.
    const headDone = () => document.body !== null || document.readyState !== 'loading' || document.contentType !== 'text/html';
    if (headDone()) return callback();
    const check = () => {
      if (!headDone()) return;
      observer.disconnect();
      document.removeEventListener('readystatechange', check);
      callback();
    };
    const observer = new dom.MutationObserver(check);
    observer.observe(document, { childList: true, subtree: true });
    document.addEventListener('readystatechange', check);
  }

  // An inline script runs synchronously when inserted, unless the page's CSP forbids it: the
  // marker it sets first tells the two apart.
  function runInline(pluginId: string, file: PlanFile & { code: string }): void {
    const element = dom.createElement('script');
    if (nonce) element.nonce = nonce;
    const marker = `aiplugs${String(Math.random()).slice(2)}`;
    element.textContent = `document.currentScript && document.currentScript.setAttribute("data-ran", "${marker}");\n${file.code}\n//# sourceURL=${pluginSourceUrl(pluginId, file.file)}\n`;
    try {
      dom.appendChild(parent(), element);
    } catch (error) {
      states.setState(pluginId, 'error', `The page refused the script (${(error as Error).message})`);
      return;
    }
    if (element.getAttribute('data-ran') !== marker) states.setState(pluginId, 'error', "Blocked by the page's Content-Security-Policy");
    element.remove();
  }

  // Where the extension can run code in this world itself (chrome.userScripts, which the page's
  // CSP does not govern), it sends files without `code` and runs each on request: one at a time,
  // so manifest order holds.
  let extensionRuns: Promise<unknown> = Promise.resolve();
  function runByExtension(pluginId: string, file: PlanFile): void {
    extensionRuns = extensionRuns.then(() => {
      const plugin = states.get(pluginId);
      if (!plugin || plugin.state === 'stopped') return null;
      return transport.callExtension({ kind: 'run', pluginId, file: file.file }).then(null, (error: unknown) => {
        states.setState(pluginId, 'error', ((error as Error | null) && (error as Error).message) || String(error));
      });
    });
  }

  function loadScript(pluginId: string, file: PlanFile): void {
    if (world.transport !== 'extension') addScript(world.bridge + file.path, pluginId);
    else if (file.code === undefined) runByExtension(pluginId, file);
    else runInline(pluginId, { ...file, code: file.code });
  }

  // Same run_at semantics as the proxy's markup: document_start at once, document_end once parsed
  // (before DOMContentLoaded), document_idle after it, at the load event or shortly after DOMContentLoaded.
  const whenIdle = createIdleMoment({
    readyState: () => document.readyState,
    onDocument: (type, listener) => document.addEventListener(type, listener),
    offDocument: (type, listener) => document.removeEventListener(type, listener),
    onWindow: (type, listener) => world.listen(type, listener),
    offWindow: (type, listener) => world.unlisten(type, listener),
    setTimer: (callback, ms) => setTimeout(callback, ms),
    clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  });
  function whenReady(runAt: RunAt, callback: () => void): void {
    if (runAt === 'document_idle') {
      whenIdle(callback);
    } else if (runAt === 'document_start' || document.readyState !== 'loading') {
      callback();
    } else {
      const onState = () => {
        if (document.readyState === 'loading') return;
        document.removeEventListener('readystatechange', onState);
        callback();
      };
      document.addEventListener('readystatechange', onState);
    }
  }

  function loadIdleScripts(paths: readonly string[]): void {
    if (paths.length === 0) return;
    whenIdle(() => {
      paths.forEach((path) => {
        const url = world.bridge + path;
        const pluginId = pluginOfBridgeUrl(world.bridge, url);
        // A plugin stopped or restarted since: its first run's files are not its new run's.
        if (pluginId === null || !proxyElements.isRetired(pluginId)) addScript(url, pluginId);
      });
    });
  }

  return { loadScript, addStyle, whenReady, loadIdleScripts };
}
