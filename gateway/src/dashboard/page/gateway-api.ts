/**
 * The gateway API as the dashboard calls it: same origin, with the session cookie its login link
 * set and the session's key (session-names.ts). The shapes below are what the dashboard reads of
 * each answer (see the gateway's routes).
 */
import { SESSION_KEY_HEADER, SESSION_KEY_PARAM } from './session-names.js';

const KEY_STORAGE = 'aiplugs-session-key';

/**
 * The session's key: taken once from the fragment the sign-in sent this page to (and the fragment
 * cleared, so that it stays out of the history), then from this origin's storage, which every tab
 * of the dashboard shares and no other port can read.
 */
export function sessionKey(): string {
  const fromSignIn = new URLSearchParams(location.hash.slice(1)).get(SESSION_KEY_PARAM);
  if (fromSignIn) {
    localStorage.setItem(KEY_STORAGE, fromSignIn);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return localStorage.getItem(KEY_STORAGE) ?? '';
}

/** Headers every API call of the dashboard carries. */
export const apiHeaders = (): Record<string, string> => ({ 'content-type': 'application/json', [SESSION_KEY_HEADER]: sessionKey() });

/** The event stream's address: EventSource sends no headers, so the key goes in the query. */
export const eventsUrl = (): string => `/api/events?${new URLSearchParams({ [SESSION_KEY_PARAM]: sessionKey() })}`;

/** Calls the gateway's API; a lost session goes back to the login page. */
export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(path, { ...init, headers: { ...apiHeaders(), ...(init.headers as Record<string, string> | undefined) } });
  if (response.status === 401) {
    location.href = '/login';
    throw new Error('signed out');
  }
  const body = (response.headers.get('content-type')?.includes('json') ? await response.json() : null) as (T & { error?: { message?: string } }) | null;
  if (!response.ok) throw new Error(body?.error?.message ?? `HTTP ${response.status}`);
  return body as T;
}

export interface Overview {
  version: string;
  apiUrl: string;
  proxyUrl: string;
  caCertPath: string;
  caSpki: string;
  caNotAfter: string;
  dataDir: string;
  pid: number;
  platform: string;
  uptimeSeconds: number;
  extensionBuilt: boolean;
  systemProxy: { target: { host: string; port: number }; setAt: string; backend: string } | null;
}

export type InferenceMode = 'local' | 'cloud';

export interface Settings {
  paused: boolean;
  disabled_sites: string[];
  plugin_disabled_sites: Record<string, string[]>;
  plugin_modes: Record<string, InferenceMode>;
}

export interface PluginInfo {
  id: string;
  name?: string;
  version?: string;
  description?: string;
  status: string;
  errors: string[];
  content_scripts?: Array<{ matches: string[] }>;
  inference?: { default_mode: InferenceMode; local: boolean; models: Array<{ filename: string }> } | null;
}

export interface ModelInfo {
  filename: string;
  plugins?: Array<{ id: string } | string>;
  state: string;
  receivedBytes?: number | null;
  totalBytes?: number | null;
  declaredSize?: number | null;
  sizeOnDisk?: number | null;
  bytesPerSecond?: number | null;
  error?: { message: string } | null;
}

export interface WorkerInfo {
  plugin: string;
  state: string;
  pid?: number;
  runtime?: string;
  served?: number;
  lastError?: string;
  startedAt?: string;
}

export interface CloudUsage {
  plugin: string;
  requests: number;
  lastMinute: number;
  tokens: number;
  rejected: number;
  limits: { requestsPerMinute: number; maxTokens: number };
}

export interface CaLocation {
  location: string;
  trusted: boolean | null;
  addedByAiplugs?: boolean;
  error?: string;
}

export interface CaStatus {
  trustedAnywhere: boolean;
  stores: Array<{ id: string; label: string; needsAdmin?: boolean; locations: CaLocation[] }>;
  defaultStores: string[];
  instructions: string;
  warning: string;
}

export interface CaChange {
  outcome: string;
  store: string;
  location: string;
  error?: string;
}

// Events of GET /api/events (server-sent events), by their event name.

export interface LogEvent {
  level: 'debug' | 'info' | 'warn' | 'error';
  scope: string;
  time: string;
  message: string;
}

export interface ModelProgressEvent {
  plugin: string;
  filename: string;
  state: string;
  receivedBytes?: number | null;
  totalBytes?: number | null;
  bytesPerSecond?: number | null;
  error?: string | null;
}

export interface WorkerStateEvent {
  plugin: string;
  state: string;
  time: string;
  detail?: string;
}

/** `injection` events: one per document the proxy decided about (see events/activity-events.ts). */
export interface InjectionEvent {
  time: string;
  url: string;
  status: number;
  plugins: string[];
  reason: string | null;
  csp: string | null;
}

/** `inference` events: one per plugin call, once it ended. */
export interface InferenceEvent {
  time: string;
  plugin: string;
  mode: InferenceMode | null;
  caller: 'user' | 'page';
  origin: string | null;
  durationMs: number;
  error: string | null;
}

/** `POST /api/dashboard/browser`. */
export interface LaunchedBrowser {
  pid: number;
  browser: string;
  executable: string;
  extensionLoaded: boolean;
}
