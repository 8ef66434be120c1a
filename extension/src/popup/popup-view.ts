import browser from 'webextension-polyfill';
import { ask } from '../common/ask-background';
import { createGatewayClient } from '../common/gateway-client';
import type { GatewayEvent } from '../common/gateway-answers';
import {
  pluginViews,
  runningCount,
  StorageKey,
  type ConnectionStatus,
  type TabPluginView,
  type TabState,
} from '../common/protocol';
import { sitePatternFor } from '../common/site-patterns';
import { loadSettings, loadTabState } from '../common/storage';
import { mountWebAiCloudSwitch } from './webai-cloud-switch';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/**
 * The tab's stored state, if it still describes the page the tab shows. A tab that went on to a
 * page no content script runs in (chrome://, file://, data:, about:blank) sends no report and
 * leaves the last site's state behind: such a page is shown as one plugins do not run on, where
 * the popup listed the previous site's plugins, switches and commands. (A page of the same site
 * that no script runs in, such as a PDF, still shows the state before it.)
 */
export async function shownTabState(tabId: number): Promise<TabState | null> {
  const [state, tab] = await Promise.all([loadTabState(tabId), browser.tabs.get(tabId).catch(() => null)]);
  if (!state) return null;
  // The browser names the tab's URL only where the extension may run (web pages, with <all_urls>).
  const url = tab?.url && /^https?:/i.test(tab.url) ? tab.url : '';
  if (url && new URL(url).origin === new URL(state.url).origin) return state;
  return { tabId, url, injection: 'unsupported', matched: [], updatedAt: state.updatedAt };
}

/** The tab the popup is about: `?tabId=` (tests, or a popup opened as a page), else the active tab. */
export async function targetTabId(): Promise<number | null> {
  const param = new URLSearchParams(location.search).get('tabId');
  if (param && /^\d+$/.test(param)) return Number(param);
  const [tab] = await browser.tabs.query({ active: true, currentWindow: true });
  return tab?.id ?? null;
}

const INJECTION_TEXT: Record<TabState['injection'], string> = {
  proxy: 'Plugins injected by the gateway proxy.',
  extension: 'Plugins injected by the extension (this page did not come through the proxy).',
  none: 'No plugin runs on this page.',
  suppressed: 'Loaded without plugins. Reload to bring them back.',
  unsupported: 'Plugins do not run on this kind of page.',
  failed: 'Injection failed.',
  unpaired: 'The extension is not paired with the gateway, so it cannot show or add plugins here (pages that come through the proxy still get theirs).',
  pending: 'Looking at this page…',
};

/** What the popup adds when the proxy injected a page the unpaired extension cannot see into. */
const PROXY_UNPAIRED_TEXT = 'Plugins injected by the gateway proxy. Pair the extension (its dashboard, "Pair the extension") to see and switch them here.';

/** What the popup says when the site's policy blocked the fallback: the choice is the user's, per site. */
function cspBlockedText(site: string): string {
  const question = `Plugins were blocked by the site's policy (its Content-Security-Policy). Allow stripping it for ${site}?`;
  // Only builds that can use chrome.userScripts (Chromium) have the other way out.
  if (!browser.runtime.getManifest().permissions?.includes('userScripts')) return question;
  return `${question} Or keep it and turn on "Allow User Scripts" for AiPlugs (chrome://extensions, AiPlugs, Details): plugins then run with the policy intact.`;
}

interface Download {
  percent: number | null;
  state: string;
  error?: string;
}

/** Worker states that mean the plugin's backend is broken (the worker manager's words). */
const WORKER_FAILURE = /^(failed|backoff)$/;

/** The most of a page's text the popup shows (a plugin's error message is the page's to write). */
const PAGE_TEXT_CHARS = 160;
const pageWords = (text: string) => (text.length > PAGE_TEXT_CHARS ? `${text.slice(0, PAGE_TEXT_CHARS - 1)}…` : text);

function stateText(plugin: TabPluginView, download: Download | undefined, worker: { state: string; detail?: string } | undefined): { text: string; state: string } {
  if (worker && WORKER_FAILURE.test(worker.state) && plugin.state !== 'off') return { text: `error: ${worker.detail ?? `backend ${worker.state}`}`, state: 'error' };
  if (download && download.state === 'downloading') return { text: `model downloading${download.percent === null ? '' : ` ${download.percent}%`}`, state: 'downloading' };
  if (download && download.state === 'failed') return { text: `error: model download failed${download.error ? ` (${download.error})` : ''}`, state: 'error' };
  switch (plugin.state) {
    case 'running':
      return { text: 'running', state: 'running' };
    case 'error':
      // What the page runtime reports, any page script can report: said as the page's word, and short.
      if (plugin.errorFromPage) return { text: `error, as the page reports it: ${pageWords(plugin.error ?? '')}`, state: 'error' };
      return { text: `error: ${plugin.error ?? 'unknown'}`, state: 'error' };
    case 'stopped':
      return { text: 'stopped', state: 'stopped' };
    case 'off':
      return { text: plugin.enabledOnSite ? 'off (site or pause)' : 'off on this site', state: 'off' };
    default:
      return { text: 'starting…', state: 'starting' };
  }
}

export async function startPopup(): Promise<void> {
  const tabId = await targetTabId();
  const downloads = new Map<string, Download>();
  const workers = new Map<string, { state: string; detail?: string }>();
  let tabState: TabState | null = tabId === null ? null : await shownTabState(tabId);
  let connection: ConnectionStatus | null = null;
  let settings = await loadSettings();

  const renderTab = () => {
    $('tab-section').hidden = tabId === null;
    const url = tabState?.url;
    $('tab-host').textContent = url ? new URL(url).host : '';
    const count = runningCount(tabState);
    $('tab-count').textContent = count > 0 ? String(count) : '';
    const injection = $('injection');
    const kind = tabState?.injection ?? 'pending';
    const site = url ? sitePatternFor(url) : null;
    const stripped = site !== null && settings.cspStripSites.includes(site);
    const blockedByPolicy = kind === 'failed' && tabState?.csp === true && site !== null && !stripped;
    injection.dataset.state = kind;
    injection.textContent = blockedByPolicy
      ? `${INJECTION_TEXT.failed} ${cspBlockedText(site)}`
      : kind === 'failed'
        ? `${INJECTION_TEXT.failed} ${tabState?.injectionError ?? ''}`.trim()
        : kind === 'proxy' && !settings.token
          ? PROXY_UNPAIRED_TEXT
          : INJECTION_TEXT[kind];
    $('retry').hidden = kind !== 'failed';
    $('retry').textContent = blockedByPolicy ? `Allow stripping for ${site}` : 'Retry';
    // The switch shows where stripping is on (to take it back) or where the policy blocked plugins.
    $('csp-strip-row').hidden = !(stripped || blockedByPolicy);
    $<HTMLInputElement>('csp-strip-site').checked = stripped;
    const list = $('plugins');
    list.replaceChildren(
      ...pluginViews(tabState).map((plugin) => {
        const item = document.createElement('li');
        const { text, state } = stateText(plugin, downloads.get(plugin.id), workers.get(plugin.id));
        item.dataset.plugin = plugin.id;
        item.dataset.state = state;
        const label = document.createElement('span');
        const name = document.createElement('span');
        name.className = 'name';
        name.textContent = plugin.name;
        const status = document.createElement('div');
        status.className = 'state';
        status.textContent = text;
        label.append(name, status);
        const toggle = document.createElement('input');
        toggle.type = 'checkbox';
        toggle.checked = plugin.enabledOnSite;
        toggle.title = `Run ${plugin.name} on this site`;
        toggle.dataset.testid = `toggle-${plugin.id}`;
        toggle.addEventListener('change', () => {
          toggle.disabled = true;
          void ask({ type: 'set-plugin-enabled', tabId: tabId!, pluginId: plugin.id, enabled: toggle.checked })
            .then((state) => {
              tabState = state ?? tabState;
              renderTab();
            })
            .catch(showError);
        });
        item.append(label, toggle);
        return item;
      }),
    );
  };

  const renderConnection = () => {
    if (!connection) return;
    const line = $('connection');
    line.dataset.state = connection.state;
    line.textContent = connection.message;
    $('connection-dot').dataset.state = connection.state;
    const paused = $<HTMLInputElement>('paused');
    paused.checked = connection.state === 'connected' && connection.paused;
    paused.disabled = connection.state !== 'connected';
    const address = 'address' in connection ? connection.address : null;
    $<HTMLAnchorElement>('dashboard').href = address ? `${address}/` : '#';
    $<HTMLAnchorElement>('ca').href = address ? `${address}/api/ca.pem` : '#';
  };

  const showError = (error: unknown) => {
    const line = $('connection');
    line.dataset.state = 'down';
    line.textContent = (error as Error).message ?? String(error);
  };

  // Settings form, filled from storage.
  $<HTMLInputElement>('address').value = settings.gatewayAddress ?? '';
  $<HTMLInputElement>('token').value = settings.token ?? '';
  $<HTMLInputElement>('proxy-routing').checked = settings.proxyRouting;

  $('pair-form').addEventListener('submit', (event) => {
    event.preventDefault();
    $('connection').textContent = 'Pairing…';
    void ask({ type: 'pair', address: $<HTMLInputElement>('address').value, token: $<HTMLInputElement>('token').value })
      .then((status) => {
        connection = status;
        renderConnection();
        if (status.state === 'connected') followEvents();
      })
      .catch(showError);
  });
  $('discover').addEventListener('click', () => {
    $('connection').textContent = 'Looking for the gateway where this browser was paired before, and on ports 5000-5100…';
    void ask({ type: 'discover-gateway' })
      .then(async (found) => {
        if (found.address) $<HTMLInputElement>('address').value = found.address;
        connection = found.address ? await ask({ type: 'get-connection' }) : { state: 'unconfigured', message: `No gateway answered on ${found.probed} ports. Start it with "npx aiplugs start", or type its address if it uses another port.` };
        renderConnection();
      })
      .catch(showError);
  });
  $('csp-strip-site').addEventListener('change', () => {
    const site = tabState ? sitePatternFor(tabState.url) : null;
    if (site) void ask({ type: 'set-csp-strip-site', site, strip: $<HTMLInputElement>('csp-strip-site').checked }).catch(showError);
  });
  $('proxy-routing').addEventListener('change', () => void ask({ type: 'set-proxy-routing', enabled: $<HTMLInputElement>('proxy-routing').checked }).catch(showError));
  $('paused').addEventListener('change', () =>
    void ask({ type: 'set-paused', paused: $<HTMLInputElement>('paused').checked })
      .then((status) => {
        connection = status;
        renderConnection();
      })
      .catch(showError),
  );
  $('reload-without').addEventListener('click', () => tabId !== null && void ask({ type: 'reload-without-plugins', tabId }).catch(showError));
  $('retry').addEventListener('click', () =>
    tabId !== null &&
    void ask({ type: 'retry-injection', tabId })
      .then((state) => {
        tabState = state ?? tabState;
        renderTab();
      })
      .catch(showError),
  );

  // Live: the tab's state as the background records it, and the settings wherever they change.
  browser.storage.onChanged.addListener((changes, area) => {
    if (area === 'local' && changes[StorageKey.settings]) {
      void loadSettings().then((latest) => {
        settings = latest;
        renderTab();
      });
      return;
    }
    if (area !== 'session' || tabId === null) return;
    const change = changes[StorageKey.tab(tabId)];
    if (!change) return;
    tabState = (change.newValue as TabState | undefined) ?? null;
    renderTab();
  });

  // Model downloads and worker errors, while the popup is open.
  let following: AbortController | null = null;
  const followEvents = () => {
    following?.abort();
    following = new AbortController();
    void loadSettings().then((current) => {
      if (!current.gatewayAddress || !current.token) return;
      const client = createGatewayClient({ address: current.gatewayAddress, token: current.token });
      return client
        .events(following!.signal, (event: GatewayEvent) => {
          if (event.type === 'model-progress') {
            const percent = event.totalBytes ? Math.floor((event.receivedBytes / event.totalBytes) * 100) : null;
            downloads.set(event.plugin, { percent, state: event.state, error: event.error });
            renderTab();
          } else if (event.type === 'worker-state') {
            workers.set(event.plugin, { state: event.state, detail: event.detail });
            renderTab();
          }
        })
        .catch(() => undefined);
    });
  };

  renderTab();
  connection = await ask({ type: 'get-connection' }).catch((error: unknown) => ({ state: 'down', address: '', message: (error as Error).message }) as ConnectionStatus);
  renderConnection();
  if (connection.state === 'connected') {
    followEvents();
    await mountWebAiCloudSwitch($('tab-section'), tabState?.url ?? null);
  }
  document.body.dataset.ready = 'true';
}
