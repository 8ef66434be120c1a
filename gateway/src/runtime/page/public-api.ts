/**
 * Types for `window.AiPlugs`, the page runtime AiPlugs injects before any plugin content script.
 *
 * Use them from a content script:
 * - plain JavaScript: start the file with `// @ts-check` and
 *   `/// <reference path="../../types/aiplugs-page.d.ts" />` (path relative to the script);
 * - TypeScript: add this file to your tsconfig's `include` (or `files`).
 *
 * @example
 *   const answer = await window.AiPlugs.infer<{ results: string[] }>('my-plugin', { text: 'Hallo Welt' });
 *   const stop = window.AiPlugs.onNavigate(({ to }) => console.log('SPA navigation to', to));
 *
 * The contract is docs/PLUGINS.md, "Page runtime API". The one source of these types is
 * gateway/src/runtime/page/public-api.ts: the page runtime is type-checked against it, and
 * types/aiplugs-page.d.ts is its declaration output (`npm run types`).
 */
export {};

declare global {
  /** Where inference runs: the plugin's local backend or the configured cloud / cluster server. */
  type AiPlugsMode = 'local' | 'cloud';

  interface AiPlugsInferOptions {
    /** The mode this call expects (`local` or `cloud`); it must be the one the user set for the plugin (else `mode_not_allowed`). Pages cannot change where a plugin runs. */
    mode?: AiPlugsMode;
    /** Cancels the call; the promise rejects with the signal's reason. */
    signal?: AbortSignal;
  }

  /**
   * What `infer()` rejects with when the gateway answers with an error. `code` is the gateway's
   * error code, e.g. `plugin_not_found`, `plugin_disabled`, `backend_error`, `worker_busy`,
   * `models_unavailable`, `cloud_not_configured`, `cloud_unreachable`.
   */
  interface AiPlugsError extends Error {
    name: 'AiPlugsError';
    code: string;
    /** The HTTP status of the gateway's answer (0 when there was none). */
    status: number;
  }

  /**
   * A plugin's model files as a page sees them, summed over all of them: `missing` until the
   * first use fetches them, `downloading` while that runs, `ready` once all are present, `failed`
   * after a download failed (the AiPlugs dashboard says why). `totalBytes` is null while a size is unknown.
   */
  interface AiPlugsModelStatus {
    state: 'ready' | 'downloading' | 'missing' | 'failed';
    receivedBytes: number;
    totalBytes: number | null;
  }

  /** The detail of an `aiplugs:navigate` event: one same-document URL change. */
  interface AiPlugsNavigation {
    from: string;
    to: string;
    kind: 'pushState' | 'replaceState' | 'popstate' | 'hashchange' | 'navigation';
  }

  interface AiPlugsConnectionEvents {
    open: undefined;
    /** A message from the gateway: parsed JSON when it was JSON, else the text. */
    message: unknown;
    /** The socket closed; it reconnects by itself unless `close()` was called or the server refused. */
    close: { code: number; reason: string };
  }

  /** A live WebSocket to the plugin through the gateway, reconnecting with backoff. */
  interface AiPlugsConnection {
    /** The underlying event target; events are `CustomEvent`s whose `detail` is the payload. */
    readonly events: EventTarget;
    /** Listens to one event type; returns the function that stops listening. */
    on<K extends keyof AiPlugsConnectionEvents>(type: K, callback: (detail: AiPlugsConnectionEvents[K]) => void): () => void;
    /** Sends a message (objects as JSON); queued while (re)connecting. */
    send(message: unknown): void;
    /** Closes for good: no reconnect. */
    close(): void;
  }

  interface AiPlugsStopInfo {
    id: string;
    url: string;
  }

  /** How a dock entry looks: `busy` while work runs, `error` after it failed. */
  type AiPlugsDockTone = 'normal' | 'busy' | 'error';

  /** What `update` may change on a dock entry. Labels and text are shown as plain text, never markup. */
  interface AiPlugsDockFields {
    /** A button's or badge's text, a panel's heading (at most 80 characters). */
    label?: string;
    /** The tooltip (at most 300 characters); the dock adds the plugin's id to it. */
    title?: string;
    /** A panel's body, line breaks kept (at most 20,000 characters). */
    text?: string;
    tone?: AiPlugsDockTone;
    /** Buttons: greyed out and not clickable. */
    disabled?: boolean;
  }

  interface AiPlugsDockButtonOptions extends AiPlugsDockFields {
    label: string;
    onClick: () => void;
  }

  interface AiPlugsDockBadgeOptions extends AiPlugsDockFields {
    label: string;
  }

  interface AiPlugsDockPanelOptions extends AiPlugsDockFields {
    label: string;
  }

  /** One entry in the dock, owned by the plugin that registered it. */
  interface AiPlugsDockItem {
    /** Changes the entry (a closed panel opens again); does nothing once it was removed. */
    update(fields: AiPlugsDockFields): void;
    remove(): void;
    /** True after `remove()`, or once the runtime removed it because the plugin stopped. */
    readonly removed: boolean;
  }

  /**
   * The page dock: one collapsible strip in the bottom-right corner, owned by the runtime, that
   * holds every plugin's buttons, badges, panels and menu commands. It lives in a closed shadow
   * root the page's scripts and CSS cannot reach. Each call names the plugin the entry belongs to
   * (it must be running in this page, else it throws); when that plugin is switched off for the
   * page or everything is paused, its entries disappear, and when it starts again its scripts run
   * again and register them anew. At most 24 entries per plugin.
   */
  interface AiPlugsUi {
    /** A button in the dock's bar. */
    button(pluginId: string, options: AiPlugsDockButtonOptions): AiPlugsDockItem;
    /** A short status text in the dock's bar. */
    badge(pluginId: string, options: AiPlugsDockBadgeOptions): AiPlugsDockItem;
    /** A text panel above the bar (a result, a summary), with a Close button; `update` reopens it. */
    panel(pluginId: string, options: AiPlugsDockPanelOptions): AiPlugsDockItem;
    /**
     * A command in the dock's "⋯" menu and in the AiPlugs extension's popup for this tab (what
     * userscript managers offer as `GM_registerMenuCommand`). Returns the function that removes it.
     */
    menuCommand(pluginId: string, label: string, run: () => void): () => void;
  }

  interface AiPlugsPageRuntime {
    /** The runtime (gateway) version. */
    readonly runtime: string;
    /** `bridge`: injected by the proxy (same-origin /__aiplugs bridge); `extension`: by the companion extension. */
    readonly transport: 'bridge' | 'extension';
    /** The ids of the plugins running in this page. */
    readonly plugins: readonly string[];
    /**
     * Calls the plugin's backend with `payload` (any JSON) and resolves to its `run()` result.
     * A page may only call plugins injected into it, in the mode the user set for the plugin
     * (asking for another `mode` rejects with code `mode_not_allowed`). Rejects with an
     * {@link AiPlugsError} whose message is generic; the details are in the gateway's log.
     */
    infer<Result = unknown>(pluginId: string, payload?: unknown, options?: AiPlugsInferOptions): Promise<Result>;
    /**
     * The download progress of the plugin's model files (read-only, cheap: poll it every few
     * hundred milliseconds while a first `infer` waits). Only for plugins injected into this page;
     * rejects with an {@link AiPlugsError} otherwise.
     */
    modelStatus(pluginId: string, options?: { signal?: AbortSignal }): Promise<AiPlugsModelStatus>;
    /**
     * Opens a new WebSocket to the plugin: every call is its own connection (two in one page both
     * stay open), which reconnects by itself. Needs the proxy (transport `bridge`).
     */
    connect(pluginId: string): AiPlugsConnection;
    /** Calls back on every SPA URL change (pushState, replaceState, popstate, hashchange); returns the unsubscribe function. */
    onNavigate(callback: (navigation: AiPlugsNavigation) => void): () => void;
    /** Calls back when the plugin is switched off for this page: remove your UI and listeners. */
    onStop(pluginId: string, callback: (info: AiPlugsStopInfo) => void): () => void;
    /** The page dock: register buttons, badges, panels and menu commands there instead of floating your own widget. */
    readonly ui: AiPlugsUi;
    /**
     * False when the gateway cannot serve the plugin as configured (its mode is `cloud` and no
     * cloud server is set up) or it is not in this page: hide the plugin's UI then.
     */
    isAvailable(pluginId: string): boolean;
  }

  interface Window {
    /** The AiPlugs page runtime; frozen, present before any plugin content script runs. */
    readonly AiPlugs: AiPlugsPageRuntime;
    /** The gateway's API port (kept for older plugins; pages should call through `AiPlugs`). */
    readonly AIPLUGS_API_PORT: number;
  }

  interface WindowEventMap {
    'aiplugs:navigate': CustomEvent<AiPlugsNavigation>;
    'aiplugs:plugin-start': CustomEvent<AiPlugsStopInfo>;
    'aiplugs:plugin-stop': CustomEvent<AiPlugsStopInfo>;
  }
}
