/**
 * What the dashboard's activity view lists: one event per document the proxy decided about and
 * one per inference call. URLs carry no query string or fragment (SECURITY.md, logging rule).
 */

/** Why a document got no plugins. */
export const SKIP_REASONS = {
  'plugin-free': 'the user reloaded it without plugins',
  paused: 'all plugins are paused',
  'site-disabled': 'AiPlugs is switched off on this site',
  'disabled-on-site': 'the matching plugins are switched off on this site',
  'no-match': 'no plugin runs on this URL',
  'gateway-page': 'the gateway’s own pages never get plugins',
  sandboxed: 'its policy sandboxes it into an opaque origin, which cannot reach the gateway (the site’s policy is kept)',
  'top-frame-only': 'a frame, and the plugins matching it run in top-level pages only (no all_frames)',
  'not-html': 'not an HTML document (status or content type)',
  undecodable: 'its content-encoding cannot be decoded',
  'unsupported-charset': 'its charset is not ASCII-compatible',
  'unsupported-xhtml': 'an XHTML document with no certain place for the markup (a root other than <html>, or a DOCTYPE with an internal subset)',
} as const;
export type SkipReason = keyof typeof SKIP_REASONS;

export interface InjectionActivity {
  type: 'injection';
  /** The document URL without query string or fragment. */
  url: string;
  status: number;
  /** The plugins injected (empty when skipped). */
  plugins: string[];
  /** null: injected. */
  reason: SkipReason | null;
  /** How the page's CSP was adapted (`proxy.csp_mode`) when injected. */
  csp: 'nonce' | 'strip' | null;
}

export interface InferenceActivity {
  type: 'inference';
  plugin: string;
  /** The mode that served the call; null when it failed. */
  mode: 'local' | 'cloud' | null;
  caller: 'user' | 'page';
  /** The page's origin for page calls. */
  origin: string | null;
  durationMs: number;
  /** null: answered; else the error code. */
  error: string | null;
}

export type ActivityEvent = InjectionActivity | InferenceActivity;
export const ACTIVITY_TYPES: ReadonlySet<string> = new Set<ActivityEvent['type']>(['injection', 'inference']);
