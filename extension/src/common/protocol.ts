/**
 * The one place that defines how the extension's parts talk to each other, typed end to end:
 *
 *   page world (page runtime, MAIN-world hook)
 *      ⇅  DOM events on `window`, details as JSON strings (strings cross worlds unchanged)
 *   ISOLATED content script (page relay)
 *      ⇅  runtime.sendMessage
 *   background  ⇄  popup (runtime.sendMessage) · gateway API (HTTP, Bearer token)
 *
 * Every message names its `type`; `BackgroundReplies` says what the background answers to each.
 */
import { z } from 'zod/mini';
import type { InjectionPlan, PluginInfo } from './gateway-types';

// --- page world ⇄ ISOLATED content script (DOM events) ---------------------------------------------

/** Event names shared with `gateway/src/runtime/page/`; keep the two in step. */
export const PageEvent = {
  /** Public: a SPA URL change; `detail` is `{from, to, kind}` (an object, for page scripts). */
  navigate: 'aiplugs:navigate',
  /** Runtime → relay: the runtime's plugins and their states, JSON `RuntimeStatus`. */
  runtimeStatus: 'aiplugs:runtime-status',
  /** Relay → runtime: please dispatch `runtimeStatus` again. */
  statusRequest: 'aiplugs:status-request',
  /** Runtime (extension transport) → relay: JSON `PageRequest`. */
  extensionRequest: 'aiplugs:extension-request',
  /** Relay → runtime: JSON `PageResponse`. */
  extensionResponse: 'aiplugs:extension-response',
  /** Relay → runtime: run a menu command of the page dock, JSON `{pluginId, id}`. */
  menuCommand: 'aiplugs:menu-command',
} as const;

const PLUGIN_RUN_STATES = ['running', 'stopped', 'error'] as const;
export type PluginRunState = (typeof PLUGIN_RUN_STATES)[number];

/** What a page runtime reports about itself. */
export interface RuntimeStatus {
  url: string;
  /** `bridge`: injected by the proxy; `extension`: injected by this extension's fallback. */
  transport: 'bridge' | 'extension';
  version?: string | undefined;
  plugins: Array<{ id: string; state: PluginRunState; error?: string | undefined }>;
  /** The menu commands plugins registered in the page dock (`AiPlugs.ui.menuCommand`). */
  commands?: MenuCommand[];
}

const text = (max: number) => z.string().check(z.maxLength(max));

/**
 * One menu command as the page runtime reports it. Any page script can report commands, so the
 * relay keeps only well-formed, bounded ones; the popup shows the label as text.
 */
export const MenuCommandSchema = z.object({ pluginId: text(200), id: z.int().check(z.positive()), label: text(80) });
export type MenuCommand = z.infer<typeof MenuCommandSchema>;
/** The most commands one page's report carries to the popup. */
export const MAX_MENU_COMMANDS = 100;

/**
 * A runtime's report as it arrives from the page world, where any script can dispatch one: parsed
 * and bounded at the relay. It carries no URL: the relay adds the document's, and the background
 * takes the browser's (the sender's URL), so a page cannot make the extension act for another site.
 */
export const RuntimeStatusReportSchema = z.object({
  transport: z.enum(['bridge', 'extension']),
  version: z.optional(text(64)),
  plugins: z.array(z.object({ id: text(200), state: z.enum(PLUGIN_RUN_STATES), error: z.optional(text(2000)) })).check(z.maxLength(256)),
  /** Filtered one by one (menuCommands in the relay): a malformed command is dropped, not the report. */
  commands: z.optional(z.unknown()),
});

const pageRequestBase = { id: text(100), pluginId: text(200), url: text(8192) };

/** The longest event detail the relay reads from the page: a call's body may be up to the gateway's 8 MiB default. */
export const MAX_PAGE_DETAIL_CHARS = 9 * 1024 * 1024;
/** Calls one document may have waiting on the background at once (the gateway also counts them per site, `api.max_page_requests_in_flight`). */
export const MAX_PAGE_CALLS_IN_FLIGHT = 32;

/**
 * What the page runtime may ask the background (through the relay): parsed at the page boundary,
 * since any script in the page can dispatch the event.
 */
export const PageRequestSchema = z.discriminatedUnion('kind', [
  z.object({
    ...pageRequestBase,
    kind: z.literal('infer'),
    body: z.object({ payload: z.unknown(), mode: z.optional(z.enum(['local', 'cloud'])) }),
  }),
  z.object({
    ...pageRequestBase,
    /** Run one of the plugin's scripts in the page (the CSP-proof route, `chrome.userScripts`). */
    kind: z.literal('run'),
    /** The plugin-relative file, as its manifest names it; the code comes from the gateway, never from the page. */
    file: text(1000),
  }),
  /** The plugin's model download progress (read-only). */
  z.object({ ...pageRequestBase, kind: z.literal('model-status') }),
]);

/** `url` is the page's `location.href` when it called (the relay sets it, not the page). */
export type PageRequest = z.infer<typeof PageRequestSchema>;

export type PageResponse =
  | { id: string; ok: true; result: unknown }
  | { id: string; ok: false; status: number; error: { code: string; message: string } };

/** Where the document's plugins came from, as the background saw it. */
export type InjectionOutcome =
  /** The proxy injected the runtime (the page crossed the gateway). */
  | 'proxy'
  /** The extension injected the runtime and plugins itself (the fallback). */
  | 'extension'
  /** No plugin matches this URL: nothing to inject. */
  | 'none'
  /** "Reload without plugins" is in effect for this load. */
  | 'suppressed'
  /** Not a page plugins can run in (not http(s), not HTML). */
  | 'unsupported'
  /** Plugins match, but injection did not happen: see `injectionError`. */
  | 'failed'
  /** The extension is not paired, so it cannot tell or inject (pages through the proxy still get plugins). */
  | 'unpaired';

/** What the MAIN-world injection step (`applyPlanInPage`) reports back. */
export interface PageOutcome {
  outcome: InjectionOutcome;
  error?: string;
  /** The failure is the page's Content-Security-Policy (a reload with header rules may fix it). */
  csp?: boolean;
  /**
   * The fallback is claimed and the page waits for the runtime, which the background runs itself
   * (`chrome.userScripts`, not an inline script the page's policy could block).
   */
  needsRuntime?: boolean;
}

// --- per-tab state (storage.session) and settings (storage.local) ------------------------------------

export interface MatchedPlugin {
  id: string;
  name: string;
  /** False when switched off here (plugin on this site, the whole site, or the global pause). */
  active: boolean;
  /** True when the plugin itself is switched off for this site (what the popup toggle shows). */
  enabledOnSite: boolean;
}

export interface TabState {
  tabId: number;
  url: string;
  injection: InjectionOutcome | 'pending';
  injectionError?: string;
  csp?: boolean;
  /** Plugins whose `matches` cover the URL, whether or not they are switched on. */
  matched: MatchedPlugin[];
  /** Last report of the page runtime, if the document has one. */
  runtime?: RuntimeStatus;
  updatedAt: number;
}

export interface ExtensionSettings {
  /** Gateway API base URL, e.g. `http://127.0.0.1:5000`; null until found or typed in. */
  gatewayAddress: string | null;
  /** The gateway's API token (pairing); null until the user pastes it. */
  token: string | null;
  /** Route this browser through the gateway proxy (PAC script via the proxy API). */
  proxyRouting: boolean;
  /**
   * Layer-1 header filtering, only where the user chose it: host names whose documents lose their
   * Content-Security-Policy (never X-Frame-Options). Empty by default: every site keeps its policy.
   */
  cspStripSites: string[];
  /** The gateway's proxy port, last seen in `/api/health` (the PAC script needs it). */
  proxyPort: number | null;
  /** Gateways paired before, most recent first: where to look when the current one does not answer. */
  knownGateways: Array<{ address: string; token: string }>;
}

export const DEFAULT_SETTINGS: ExtensionSettings = {
  gatewayAddress: null,
  token: null,
  proxyRouting: false,
  cspStripSites: [],
  proxyPort: null,
  knownGateways: [],
};

export type ConnectionStatus =
  | { state: 'unconfigured'; message: string }
  | { state: 'down'; address: string; message: string }
  | { state: 'unpaired'; address: string; version: string; message: string }
  /** A gateway answers where this browser was paired, but refuses its token (rotated, or another gateway). */
  | { state: 'rejected'; address: string; version: string; message: string }
  | { state: 'connected'; address: string; version: string; apiPort: number; proxyPort: number; paused: boolean; message: string };

/** The popup's view of one plugin on a tab. */
export interface TabPluginView extends MatchedPlugin {
  state: PluginRunState | 'off' | 'starting';
  error?: string;
}

// --- messages to the background ------------------------------------------------------------------

export type BackgroundRequest =
  // from the page relay (top frame of a tab)
  | { type: 'page-loaded'; url: string; restored: boolean }
  | { type: 'page-navigated'; url: string }
  | { type: 'runtime-status'; status: RuntimeStatus }
  | { type: 'page-request'; request: PageRequest }
  // from the popup
  | { type: 'get-connection' }
  | { type: 'discover-gateway' }
  | { type: 'pair'; address: string; token: string }
  // from the pairing listener on a gateway's own page (dashboard, /pair)
  | { type: 'pairing-offer'; code: string }
  | { type: 'set-plugin-enabled'; tabId: number; pluginId: string; enabled: boolean }
  | { type: 'set-paused'; paused: boolean }
  | { type: 'reload-without-plugins'; tabId: number }
  | { type: 'retry-injection'; tabId: number }
  | { type: 'set-proxy-routing'; enabled: boolean }
  | { type: 'set-csp-strip-site'; site: string; strip: boolean }
  | { type: 'run-menu-command'; tabId: number; pluginId: string; commandId: number };

export interface BackgroundReplies {
  'page-loaded': null;
  'page-navigated': null;
  'runtime-status': null;
  'page-request': PageResponse;
  'get-connection': ConnectionStatus;
  'discover-gateway': { address: string | null; probed: number };
  pair: ConnectionStatus;
  'pairing-offer': ConnectionStatus;
  'set-plugin-enabled': TabState | null;
  'set-paused': ConnectionStatus;
  'reload-without-plugins': null;
  'retry-injection': TabState | null;
  'set-proxy-routing': ExtensionSettings;
  'set-csp-strip-site': ExtensionSettings;
  'run-menu-command': null;
}

/** What the background sends a tab's page relay (`tabs.sendMessage`, top frame). */
export type RelayRequest = { type: 'run-menu-command'; pluginId: string; commandId: number };

export type RequestOf<T extends BackgroundRequest['type']> = Extract<BackgroundRequest, { type: T }>;

/** A failure the background reports instead of throwing across the message boundary. */
export interface BackgroundFailure {
  failure: { message: string };
}

/** Keys in `storage.session` / `storage.local`. */
export const StorageKey = {
  settings: 'settings',
  tab: (tabId: number) => `tab:${tabId}`,
  isTab: (key: string) => key.startsWith('tab:'),
  /** Tabs with a "reload without plugins" block rule waiting to be lifted. */
  suppressedTabs: 'suppressed-tabs',
} as const;

/** The popup's plugin rows: matched plugins with what the page runtime says about each. */
export function pluginViews(state: TabState | null): TabPluginView[] {
  if (!state) return [];
  const reported = new Map((state.runtime?.plugins ?? []).map((plugin) => [plugin.id, plugin]));
  return state.matched.map((plugin) => {
    const report = reported.get(plugin.id);
    if (!plugin.active) return { ...plugin, state: 'off' };
    if (!report) return { ...plugin, state: state.injection === 'failed' ? 'error' : 'starting', error: state.injection === 'failed' ? state.injectionError : undefined };
    return { ...plugin, state: report.state, error: report.error };
  });
}

/** How many plugins run on the tab: what the toolbar badge shows. */
export function runningCount(state: TabState | null): number {
  return (state?.runtime?.plugins ?? []).filter((plugin) => plugin.state !== 'stopped').length;
}

export type { InjectionPlan, PluginInfo };
