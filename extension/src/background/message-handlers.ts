import browser, { type Runtime } from 'webextension-polyfill';
import { discoverGateway, GatewayError, rangeAddresses, type GatewayClient } from '../common/gateway-client';
import { BackgroundRequestSchema, PAGE_MESSAGE_TYPES, type BackgroundFailure, type BackgroundFailureCode, type BackgroundReplies, type ConnectionStatus, type PairingOutcome, type BackgroundRequest, type PageRequest, type PageResponse, type RelayRequest, type RequestOf } from '../common/protocol';
import { hostMatchesSitePattern, sitePatternFor } from '../common/site-patterns';
import { loadSettings, loadTabState, saveSettings } from '../common/storage';
import { pageMessage } from '../../../gateway/src/api/page-messages';
import { SKIP_ONCE_KEY } from '../injected/navigation-hook';
import { clientFor, connectionStatus, currentClient, pair, provenToken, rememberedTokens } from './gateway-connection';
import { buildHeaderRules, installHeaderRules } from './header-rules';
import { markSkipOnceInPage } from './page-injection';
import { decidePairing, describePairing, offerPairing } from './pairing-offer';
import { rememberedPlan } from './plan-cache';
import { applyProxyRouting } from './proxy-routing';
import { startSuppressedLoad } from './suppressed-loads';
import { recordRuntimeStatus, resyncTabs, syncTab } from './tab-sync';
import { runInPageWorld, type PageTarget } from './user-scripts';

type Handler<K extends BackgroundRequest['type']> = (message: RequestOf<K>, sender: Runtime.MessageSender) => Promise<BackgroundReplies[K]>;
type Handlers = { [K in BackgroundRequest['type']]: Handler<K> };

/** Brings the layer-1 header rules in line with the user's per-site choices and the gateway's switches. */
export async function syncHeaderRules(): Promise<void> {
  const settings = await loadSettings();
  const client = clientFor(settings);
  if (settings.cspStripSites.length === 0 || !client || !settings.token) return installHeaderRules([]);
  try {
    await installHeaderRules(buildHeaderRules(settings.cspStripSites, await client.settings()));
  } catch {
    // gateway down: keep the last rules rather than strip nothing or everything
  }
}

const topFrameTab = (sender: Runtime.MessageSender): number | null =>
  sender.tab?.id !== undefined && (sender.frameId ?? 0) === 0 ? sender.tab.id : null;

/**
 * The sender's origin, as the browser names the document (its URL is the browser's word, the
 * message's is the page's), when `url` is on it; null when not, or when either is no URL. A page
 * may move itself within its origin (pushState), never out of it.
 */
function senderOriginFor(sender: Runtime.MessageSender, url: string): string | null {
  try {
    const origin = new URL(sender.url ?? '').origin;
    return origin !== 'null' && origin === new URL(url).origin ? origin : null;
  } catch {
    return null;
  }
}

/** A top frame's word about its own URL: its tab, if the URL is on the document's own origin. */
const topFrameOwnUrl = (sender: Runtime.MessageSender, url: string): number | null => (senderOriginFor(sender, url) ? topFrameTab(sender) : null);

function pageFailure(id: string, status: number, code: string, message: string): PageResponse {
  return { id, ok: false, status, error: { code, message } };
}

/** Runs one script file of a plugin active on the page (its plan is exactly the active set). */
async function runPluginFile(client: GatewayClient, target: PageTarget, request: Extract<PageRequest, { kind: 'run' }>): Promise<PageResponse> {
  const { id, pluginId, url, file } = request;
  const plan = rememberedPlan(target.documentId, url) ?? (await client.inject(url));
  const plugin = plan.plugins.find((candidate) => candidate.id === pluginId);
  if (!plugin) return pageFailure(id, 403, 'plugin_not_active', `Plugin "${pluginId}" is not active on this page`);
  const script = plugin.scripts.flatMap((entry) => entry.js).find((candidate) => candidate.file === file);
  if (!script) return pageFailure(id, 404, 'file_not_found', `Plugin "${pluginId}" has no script "${file}" for this page`);
  const finished = await runInPageWorld(target, script.code, `aiplugs://${encodeURIComponent(pluginId)}/${encodeURI(file)}`);
  if (!finished) return pageFailure(id, 500, 'script_failed', `${file} stopped with an error (see the page's console)`);
  return { id, ok: true, result: null };
}

/** A new pairing takes effect at once: proxy routing, header rules, and every tab's plugins. */
async function afterPairing(status: ConnectionStatus): Promise<ConnectionStatus> {
  if (status.state === 'connected') {
    await applyProxyRouting(await loadSettings());
    await syncHeaderRules();
    void resyncTabs();
  }
  return status;
}

/** The same for a pairing made through an offer (the user's answer, or `aiplugs browser`). */
export async function afterOffer(outcome: PairingOutcome): Promise<PairingOutcome> {
  if (outcome.state === 'paired') await afterPairing(await connectionStatus());
  return outcome;
}

/** Every message the background answers, by type: the protocol in `common/protocol.ts`. */
const handlers: Handlers = {
  // A renderer that claimed another site's URL got that site's plugins into its own page.
  async 'page-loaded'(message, sender) {
    const tabId = topFrameOwnUrl(sender, message.url);
    if (tabId !== null) void syncTab({ tabId, url: message.url, reason: 'load', documentId: sender.documentId }).catch(() => undefined);
    return null;
  },
  async 'page-navigated'(message, sender) {
    const tabId = topFrameOwnUrl(sender, message.url);
    if (tabId !== null) void syncTab({ tabId, url: message.url, reason: 'navigate', documentId: sender.documentId }).catch(() => undefined);
    return null;
  },
  async 'runtime-status'(message, sender) {
    const tabId = topFrameTab(sender);
    // The tab's URL is the browser's word: the report comes from the page world. (The tab's, not
    // `sender.url`: Chromium keeps that at the URL the document loaded with, before any pushState.)
    const url = sender.tab?.url;
    if (tabId !== null && url) void recordRuntimeStatus(tabId, { ...message.status, url }).catch(() => undefined);
    return null;
  },
  /**
   * The fallback runtime's calls: the page never sees the token, and may call only the plugins
   * active for its own URL (the bridge's rule, enforced here since there is no bridge). A `run`
   * executes a file of such a plugin, with the code the gateway serves, never code from the page.
   */
  async 'page-request'({ request }, sender) {
    const { id, pluginId, url } = request;
    const pageOrigin = senderOriginFor(sender, url);
    if (!pageOrigin) return pageFailure(id, 403, 'forbidden', 'The call did not come from this page');
    const client = await currentClient();
    const settings = await loadSettings();
    if (!client || !settings.token) return pageFailure(id, 503, 'gateway_unpaired', pageMessage('gateway_unpaired'));
    try {
      if (request.kind === 'run') {
        const tabId = topFrameTab(sender);
        if (tabId === null) return pageFailure(id, 403, 'forbidden', 'Plugin scripts run in the top frame only');
        return await runPluginFile(client, { tabId, documentId: sender.documentId, origin: pageOrigin }, request);
      }
      const active = await client.active(url);
      if (!active.plugins.some((plugin) => plugin.id === pluginId && plugin.active)) {
        return pageFailure(id, 403, 'plugin_not_active', `Plugin "${pluginId}" is not active on this page`);
      }
      if (request.kind === 'model-status') return { id, ok: true, result: await client.modelStatus(pluginId, pageOrigin) };
      return { id, ok: true, result: await client.infer(pluginId, request.body, pageOrigin) };
    } catch (error) {
      // The gateway already answers a page call as to a page; the extension's own failures (an
      // unreachable gateway names its address, an exception anything) are told the same way.
      if (error instanceof GatewayError) return pageFailure(id, error.status, error.code, pageMessage(error.code));
      return pageFailure(id, 500, 'extension_error', pageMessage('extension_error'));
    }
  },
  async 'get-connection'() {
    return connectionStatus();
  },
  async 'discover-gateway'() {
    // Where this browser was paired before first, then the contract's API ports.
    const settings = await loadSettings();
    const { address, probed } = await discoverGateway([...settings.knownGateways.map((entry) => entry.address), ...rangeAddresses()]);
    if (address) {
      // The token goes along only to a gateway that proves it holds it; anything else is unpaired.
      const proven = await provenToken(address, rememberedTokens(settings));
      await saveSettings({ gatewayAddress: address, token: typeof proven === 'object' ? proven.token : null });
    }
    return { address, probed };
  },
  async pair({ address, token }) {
    return afterPairing(await pair(address, token));
  },
  /** Only a top frame's content script (a gateway page on this machine) offers codes; the page's URL is the browser's word, not the page's. */
  async 'pairing-offer'({ code }, sender) {
    const tabId = topFrameTab(sender);
    if (tabId === null) throw new Error('Pairing offers are taken from a top-level page only.');
    return offerPairing(sender.url, code, { tabId, documentId: sender.documentId });
  },
  async 'pairing-pending'({ offer }) {
    return describePairing(offer);
  },
  async 'pairing-decide'({ offer, accept }) {
    return afterOffer(await decidePairing(offer, accept));
  },
  async 'set-plugin-enabled'({ tabId, pluginId, enabled }) {
    const state = await loadTabState(tabId);
    const client = await currentClient();
    const site = state && sitePatternFor(state.url);
    if (!state || !client || !site) return state;
    const current = await client.settings();
    const sites = current.plugin_disabled_sites[pluginId] ?? [];
    const next = enabled ? sites.filter((pattern) => !hostMatchesSitePattern(site, pattern)) : [...new Set([...sites, site])];
    await client.updateSettings({ plugin_disabled_sites: { ...current.plugin_disabled_sites, [pluginId]: next } });
    await syncHeaderRules();
    // Every open tab of this site follows at once: the stopped plugin is told to tear down.
    await resyncTabs((other) => sitePatternFor(other.url) === site);
    return loadTabState(tabId);
  },
  async 'set-paused'({ paused }) {
    const client = await currentClient();
    if (client) {
      await client.updateSettings({ paused });
      await syncHeaderRules();
      await resyncTabs();
    }
    return connectionStatus();
  },
  async 'reload-without-plugins'({ tabId }) {
    // One plugin-free load of this tab (plugin-free-rules.ts); the document_start hook reads the
    // flag, so that the extension injects nothing into the documents the proxy never sees either.
    // The proxy is in the tab's path when the extension routes the browser through it, or when it
    // injected the tab's document (a command-line or system proxy): the runtime there reported the
    // bridge as its transport (its element is gone by then, see the runtime's entry.ts). A page
    // could report so itself, and would only get the proxy's mark on its own next load.
    const [settings, state, [marked]] = await Promise.all([loadSettings(), loadTabState(tabId), browser.scripting.executeScript({ target: { tabId, frameIds: [0] }, func: markSkipOnceInPage, args: [SKIP_ONCE_KEY] })]);
    const proxyInPath = (settings.proxyRouting && Boolean(settings.proxyPort)) || state?.injection === 'proxy';
    await startSuppressedLoad(tabId, (marked as { documentId?: string } | undefined)?.documentId, proxyInPath);
    await browser.tabs.reload(tabId);
    return null;
  },
  async 'retry-injection'({ tabId }) {
    const state = await loadTabState(tabId);
    if (!state) return null;
    const site = sitePatternFor(state.url);
    const settings = await loadSettings();
    if (state.csp && site && !settings.cspStripSites.includes(site)) {
      // The popup asked "allow stripping for this site?" and the user said yes: this host only,
      // from the next load on.
      await saveSettings({ cspStripSites: [...settings.cspStripSites, site] });
      await syncHeaderRules();
      await browser.tabs.reload(tabId);
      return state;
    }
    return syncTab({ tabId, url: state.url, reason: 'retry' });
  },
  async 'set-proxy-routing'({ enabled }) {
    const settings = await saveSettings({ proxyRouting: enabled });
    if (enabled && !settings.proxyPort) await connectionStatus(); // learns the proxy port
    const latest = await loadSettings();
    await applyProxyRouting(latest);
    return latest;
  },
  async 'set-csp-strip-site'({ site, strip }) {
    const pattern = sitePatternFor(`https://${site}/`);
    if (!pattern) throw new Error(`Not a site name: ${site}`);
    const current = (await loadSettings()).cspStripSites.filter((entry) => entry !== pattern);
    const settings = await saveSettings({ cspStripSites: strip ? [...current, pattern] : current });
    await syncHeaderRules();
    return settings;
  },
  /** The popup's menu command: the tab's page relay hands it to the page runtime, which runs the plugin's callback. */
  async 'run-menu-command'({ tabId, pluginId, commandId }) {
    const request: RelayRequest = { type: 'run-menu-command', pluginId, commandId };
    await browser.tabs.sendMessage(tabId, request, { frameId: 0 });
    return null;
  },
};

const refusal = (code: BackgroundFailureCode, message: string): BackgroundFailure => ({ failure: { code, message } });

/** An extension page (the popup), as the browser names the sender: never a content script, whose URL is the page's. */
function fromExtensionPage(sender: Runtime.MessageSender): boolean {
  try {
    return new URL(sender.url ?? '').origin === new URL(browser.runtime.getURL('/')).origin;
  } catch {
    return false;
  }
}

/**
 * The `runtime.onMessage` listener: parses, checks who may send the type, dispatches; failures
 * come back as `{failure}`. Only the popup's messages act as the user, so they are refused from
 * content scripts, which run in the page's renderer.
 */
export function handleMessage(message: unknown, sender: Runtime.MessageSender): Promise<unknown> {
  const parsed = BackgroundRequestSchema.safeParse(message);
  if (!parsed.success) return Promise.resolve(refusal('invalid_message', 'The extension could not read this message.'));
  const request = parsed.data;
  if (!PAGE_MESSAGE_TYPES.has(request.type) && !fromExtensionPage(sender)) {
    return Promise.resolve(refusal('not_allowed', `"${request.type}" is taken from the extension's own pages only.`));
  }
  const handler = handlers[request.type] as Handler<BackgroundRequest['type']>;
  return handler(request as never, sender).catch((error: unknown) => ({ failure: { message: (error as Error).message ?? String(error) } }));
}
