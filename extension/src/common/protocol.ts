/**
 * The one place that defines how the extension's parts talk to each other, typed end to end:
 *
 *   page world (page runtime, MAIN-world hook)
 *      ⇅  DOM events on `window`, details as JSON strings (strings cross worlds unchanged)
 *   ISOLATED content script (page relay)
 *      ⇅  runtime.sendMessage
 *   background  ⇄  popup (runtime.sendMessage) · gateway API (HTTP, calls signed with the token)
 *
 * Every message names its `type`; `BackgroundReplies` says what the background answers to each.
 */
import { z } from 'zod/mini';
import type { InjectionPlan, PluginInfo } from './gateway-answers';

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

const text = (max: number) => z.string().check(z.maxLength(max));
/** A page's URL: up to Chromium's own limit, so no page the browser opens is refused for its URL. */
const pageUrl = text(2 * 1024 * 1024);

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

/**
 * What a page runtime reports about itself, as the relay passes it on to the background: the
 * document's URL added, the menu commands filtered. `transport` is `bridge` when the proxy injected
 * the runtime, `extension` when this extension's fallback did.
 */
const RuntimeStatusSchema = z.object({
  ...RuntimeStatusReportSchema.shape,
  url: pageUrl,
  /** The menu commands plugins registered in the page dock (`AiPlugs.ui.menuCommand`). */
  commands: z.optional(z.array(MenuCommandSchema).check(z.maxLength(MAX_MENU_COMMANDS))),
});
export type RuntimeStatus = z.infer<typeof RuntimeStatusSchema>;

const pageRequestBase = { id: text(100), pluginId: text(200), url: pageUrl };

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
  /**
   * The call ran in a document of another site than its plan's (Chromium can run a call aimed at
   * one document in the tab's next one): nothing was done there, and that document syncs itself.
   */
  elsewhere?: boolean;
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
  /** The error is the page runtime's report, which any page script can write: not the extension's word. */
  errorFromPage?: boolean;
}

// --- messages to the background ------------------------------------------------------------------

const tabId = z.int().check(z.nonnegative());

/**
 * What each sender may ask the background. Content scripts run in the page's renderer, so a
 * compromised renderer (or a bug in the relay) can send anything they can: their messages are
 * parsed here like any page input, and may only speak for the page they came from.
 */
const PAGE_MESSAGES = [
  // from the page relay (top frame of a tab)
  z.object({ type: z.literal('page-loaded'), url: pageUrl, restored: z.boolean() }),
  z.object({ type: z.literal('page-navigated'), url: pageUrl }),
  z.object({ type: z.literal('runtime-status'), status: RuntimeStatusSchema }),
  z.object({ type: z.literal('page-request'), request: PageRequestSchema }),
  // from the pairing listener on a gateway's own page (the dashboard)
  z.object({ type: z.literal('pairing-offer'), code: text(200) }),
] as const;

/** What only the extension's own pages (the popup) may ask: it acts as the user. */
const EXTENSION_PAGE_MESSAGES = [
  z.object({ type: z.literal('get-connection') }),
  z.object({ type: z.literal('discover-gateway') }),
  z.object({ type: z.literal('pair'), address: text(2048), token: text(512) }),
  // from the pairing confirmation tab, which names the offer it asks about
  z.object({ type: z.literal('pairing-pending'), offer: text(64) }),
  z.object({ type: z.literal('pairing-decide'), offer: text(64), accept: z.boolean() }),
  z.object({ type: z.literal('set-plugin-enabled'), tabId, pluginId: text(200), enabled: z.boolean() }),
  z.object({ type: z.literal('set-paused'), paused: z.boolean() }),
  z.object({ type: z.literal('reload-without-plugins'), tabId }),
  z.object({ type: z.literal('retry-injection'), tabId }),
  z.object({ type: z.literal('set-proxy-routing'), enabled: z.boolean() }),
  z.object({ type: z.literal('set-csp-strip-site'), site: text(253), strip: z.boolean() }),
  z.object({ type: z.literal('run-menu-command'), tabId, pluginId: text(200), commandId: z.int().check(z.positive()) }),
] as const;

export const BackgroundRequestSchema = z.discriminatedUnion('type', [...PAGE_MESSAGES, ...EXTENSION_PAGE_MESSAGES]);
export type BackgroundRequest = z.infer<typeof BackgroundRequestSchema>;

/** The message types a content script may send; every other one needs an extension page as sender. */
export const PAGE_MESSAGE_TYPES: ReadonlySet<BackgroundRequest['type']> = new Set(PAGE_MESSAGES.flatMap((schema) => schema.shape.type.def.values));

export interface BackgroundReplies {
  'page-loaded': null;
  'page-navigated': null;
  'runtime-status': null;
  'page-request': PageResponse;
  'get-connection': ConnectionStatus;
  'discover-gateway': { address: string | null; probed: number };
  pair: ConnectionStatus;
  'pairing-offer': PairingOutcome;
  'pairing-pending': { address: string; expiresAt: number } | null;
  'pairing-decide': PairingOutcome;
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

/**
 * How a pairing offer went, in words for the page that made it (never a secret): `confirm` while
 * the user is asked in the extension's confirmation tab; `gone` when the offer asked about was
 * already decided, replaced or expired.
 */
export interface PairingOutcome {
  state: 'paired' | 'confirm' | 'declined' | 'failed' | 'gone';
  message: string;
}

/** What the background sends the pairing listener of the page that offered a code, once the user answered. */
export type PairingListenerMessage = { type: 'pairing-decided'; outcome: PairingOutcome };

export type RequestOf<T extends BackgroundRequest['type']> = Extract<BackgroundRequest, { type: T }>;

/** Why the background refused a message before any handler ran. */
export type BackgroundFailureCode = 'invalid_message' | 'not_allowed';

/** A failure the background reports instead of throwing across the message boundary. */
export interface BackgroundFailure {
  failure: { code?: BackgroundFailureCode; message: string };
}

/** Keys in `storage.session` / `storage.local`. */
export const StorageKey = {
  settings: 'settings',
  tab: (tabId: number) => `tab:${tabId}`,
  isTab: (key: string) => key.startsWith('tab:'),
  /** Tabs with a "reload without plugins" block rule waiting to be lifted. */
  suppressedTabs: 'suppressed-tabs',
  /** The pairing offer waiting for the user (background/pending-pairing.ts). */
  pendingPairing: 'pending-pairing',
  /** Addresses whose offers the user declined lately. */
  pairingDeclines: 'pairing-declines',
} as const;

/** The popup's plugin rows: matched plugins with what the page runtime says about each. */
export function pluginViews(state: TabState | null): TabPluginView[] {
  if (!state) return [];
  const reported = new Map((state.runtime?.plugins ?? []).map((plugin) => [plugin.id, plugin]));
  return state.matched.map((plugin) => {
    const report = reported.get(plugin.id);
    if (!plugin.active) return { ...plugin, state: 'off' };
    if (!report) return { ...plugin, state: state.injection === 'failed' ? 'error' : 'starting', error: state.injection === 'failed' ? state.injectionError : undefined };
    return { ...plugin, state: report.state, error: report.error, errorFromPage: report.error !== undefined };
  });
}

/**
 * How many plugins run on the tab: what the toolbar badge shows. Any page script can report a
 * runtime status, so only plugins the gateway says match the tab and are switched on there count
 * (a page made the badge say 41 with 40 invented ones).
 */
export function runningCount(state: TabState | null): number {
  const matched = new Set((state?.matched ?? []).filter((plugin) => plugin.active).map((plugin) => plugin.id));
  return (state?.runtime?.plugins ?? []).filter((plugin) => matched.has(plugin.id) && plugin.state !== 'stopped').length;
}

export type { InjectionPlan, PluginInfo };
