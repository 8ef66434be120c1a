/**
 * The shapes of the gateway API answers the extension uses (see docs/EXTENSION.md and the
 * gateway's `api/routes/`). Declared here rather than imported so the extension builds on its own.
 */

export type { GatewayHealth } from './unproven-answers';

export interface GatewaySettings {
  paused: boolean;
  disabled_sites: string[];
  plugin_disabled_sites: Record<string, string[]>;
  plugin_modes: Record<string, 'local' | 'cloud'>;
  /** Sites allowed to reach the cloud through Web AI (docs/WEBAI.md). */
  webai_cloud_origins?: string[];
}

/** `GET /api/webai/status`: what each built-in AI API runs on and whether it is ready. */
export interface WebAiStatus {
  enabled: boolean;
  apis: Array<{ api: string; backend: 'local' | 'cloud'; state: string }>;
}

export interface ActivePlugins {
  url: string;
  plugins: Array<{ id: string; active: boolean }>;
}

export interface PluginInfo {
  id: string;
  status: 'enabled' | 'error';
  name?: string;
  content_scripts?: Array<{ matches: string[]; exclude_matches?: string[]; run_at?: string }>;
  errors?: string[];
}

export type RunAt = 'document_start' | 'document_end' | 'document_idle';

export interface InjectedFile {
  file: string;
  /** API path of the file (`/api/plugins/<id>/files/<file>`), served by the proxy's bridge too. */
  path: string;
  code: string;
}

/** `GET /api/inject?url=`: the runtime and the active plugins' scripts for a URL. */
export interface InjectionPlan {
  url: string;
  runtime: string;
  /** A bridge base for this URL's plugins; a proxied page switches to it after an SPA navigation. */
  bridge: string | null;
  plugins: Array<{ id: string; name: string; scripts: Array<{ run_at: RunAt; js: InjectedFile[]; css: InjectedFile[] }> }>;
}

/** One event of `GET /api/events` (server-sent events). */
export type GatewayEvent =
  | { type: 'model-progress'; plugin: string; filename: string; receivedBytes: number; totalBytes: number | null; state: 'downloading' | 'verifying' | 'ready' | 'failed'; error?: string }
  | { type: 'worker-state'; plugin: string; state: string; detail?: string }
  | { type: 'log' | 'settings'; [key: string]: unknown };

export interface GatewayErrorBody {
  error: { code: string; message: string };
}
