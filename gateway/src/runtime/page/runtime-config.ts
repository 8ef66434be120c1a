/**
 * What the gateway hands the page runtime (runtime/page-runtime.ts writes it, the runtime reads
 * it), and the plans the companion extension passes to `__aiplugsRuntime.reconcile`.
 */

/** What the page's config says about Web AI (present only when the document has the grant). */
export interface WebAiPageConfig {
  /** The user prefers AiPlugs to the browser's own built-in AI (`webai.replace_native`). */
  replaceNative?: boolean;
}

export type RuntimeTransport = 'bridge' | 'extension';

export interface PageRuntimeConfig {
  version: string;
  apiPort: number;
  /** Ids of the plugins injected into this page (the runtime exposes them as `AiPlugs.plugins`). */
  plugins: string[];
  /** Bridge paths of `document_idle` scripts, loaded at the idle moment (idle-moment.ts: the load event, or 200 ms after DOMContentLoaded). */
  idle: string[];
  /**
   * How the page reaches the gateway: `bridge` (default) through the proxy's same-origin
   * `/__aiplugs/` path; `extension` through the companion extension, for documents the proxy
   * never saw (the extension then starts the plugins itself).
   */
  transport?: RuntimeTransport;
  /** This document's bridge base, `/__aiplugs/cap/<token>` (default `/__aiplugs`). */
  bridge?: string;
  /**
   * Ids of this page's plugins the gateway cannot serve as configured (mode `cloud` with no cloud
   * server set): `AiPlugs.isAvailable` says false for them, so they can keep their UI hidden.
   */
  unavailable?: string[];
  /** Present when the document has the Web AI grant: define the built-in AI globals (docs/WEBAI.md). */
  webai?: WebAiPageConfig;
}

export type RunAt = 'document_start' | 'document_end' | 'document_idle';

/** One plugin file: its bridge path, and for the extension transport maybe its code. */
export interface PlanFile {
  file: string;
  path: string;
  /** Inline code (extension transport); absent when the extension runs the file itself on request. */
  code?: string;
}

export interface PluginPlan {
  id: string;
  scripts?: Array<{ run_at: RunAt; js?: PlanFile[]; css?: PlanFile[] }>;
}

/** The plugins a document should run now (the extension sends one on every navigation and settings change). */
export interface ReconcilePlan {
  plugins?: PluginPlan[];
  /** Restart plugins that are in error (the popup's retry). */
  retry?: boolean;
  /**
   * After an SPA navigation, a bridge base (`/__aiplugs/cap/<token>`) for the plugins of the new
   * URL, minted by the gateway for the extension (which holds the API token); null without one.
   */
  bridge?: string | null;
}
