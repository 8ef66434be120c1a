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
