import browser from 'webextension-polyfill';
import { GatewayError, type GatewayClient } from '../common/gateway-client';
import { runningCount, type PageOutcome, type RuntimeStatus, type TabState } from '../common/protocol';
import { hostMatchesSitePattern } from '../common/site-patterns';
import { allTabStates, loadSettings, loadTabState, saveTabState } from '../common/storage';
import { clientFor, notTheGateway, relocatedClient } from './gateway-connection';
import { applyPlanInPage, documentParsedInPage, reconcileInPage, type ApplyPlanInput, type ReconcilePlan } from './page-injection';
import { rememberPlan } from './plan-cache';
import { endSuppressedLoad, isSuppressedLoad } from './suppressed-loads';
import { canRunWithoutInlineScripts, runInPageWorld } from './user-scripts';

/**
 * Keeps each tab's plugins in line with its URL and the user's switches, and its state (for the
 * badge and popup) in `storage.session`. One queue per tab: a navigation that arrives while the
 * load before it is still being handled waits its turn, so states never interleave.
 */

interface Queued {
  job: () => Promise<unknown>;
  result: Promise<unknown>;
}

const queues = new Map<number, Promise<unknown>>();
/** Per tab, the job of each key that waits and has not started (jobs of one key stand in for each other). */
const waitingJobs = new Map<number, Map<string, Queued>>();

/**
 * Runs `job` after every earlier job of the same tab. Call it synchronously in a handler. While a
 * job with the same key waits, the new one takes its place in the queue (both callers get its
 * result): the page can send reports and navigations as fast as it likes, in any mix, and a tab
 * still has at most one job running and one waiting of each kind.
 */
function inTabQueue<T>(tabId: number, key: string, job: () => Promise<T>): Promise<T> {
  const waiting = waitingJobs.get(tabId) ?? new Map<string, Queued>();
  waitingJobs.set(tabId, waiting);
  const same = waiting.get(key);
  if (same) {
    same.job = job;
    return same.result as Promise<T>;
  }
  const queued: Queued = { job, result: Promise.resolve() };
  waiting.set(key, queued);
  const run = () => {
    waiting.delete(key);
    return queued.job() as Promise<T>;
  };
  const previous = queues.get(tabId) ?? Promise.resolve();
  const next = previous.then(run, run);
  queued.result = next;
  const settled = next.catch(() => undefined);
  queues.set(tabId, settled);
  void settled.then(() => {
    if (queues.get(tabId) !== settled) return;
    queues.delete(tabId);
    if (waiting.size === 0) waitingJobs.delete(tabId);
  });
  return next;
}

/** How long a call into the page may take: the page can make one never answer (it owns the hook objects). */
const PAGE_CALL_TIMEOUT_MS = 30_000;

export async function updateBadge(state: TabState): Promise<void> {
  const failed = state.injection === 'failed';
  const count = runningCount(state);
  const text = failed ? '!' : count > 0 ? String(count) : '';
  try {
    await browser.action.setBadgeText({ tabId: state.tabId, text });
    await browser.action.setBadgeBackgroundColor({ tabId: state.tabId, color: failed ? '#b91c1c' : '#1f2937' });
    await browser.action.setTitle({ tabId: state.tabId, title: failed ? `AiPlugs: ${state.injectionError ?? 'injection failed'}` : `AiPlugs: ${count} plugin(s) on this tab` });
  } catch {
    // the tab is gone
  }
}

async function store(state: TabState): Promise<TabState> {
  await saveTabState(state);
  await updateBadge(state);
  return state;
}

export interface SyncRequest {
  tabId: number;
  url: string;
  /** `load`: a new document (or one restored from cache); `navigate`: a SPA URL change; `settings`: a switch changed; `retry`: the popup's retry. */
  reason: 'load' | 'navigate' | 'settings' | 'retry';
  /** The document the request is about (Chromium), so a late answer never lands in the next one. */
  documentId?: string | undefined;
}

const isWebUrl = (url: string) => /^https?:\/\//i.test(url);

function describeFailure(error: unknown): string {
  if (error instanceof GatewayError) return error.message;
  return `Could not inject into this page: ${(error as Error).message ?? String(error)}`;
}

async function runInPage<T, A extends unknown[]>(request: SyncRequest, func: (...args: A) => T | Promise<T>, args: A): Promise<T> {
  const target = request.documentId ? { tabId: request.tabId, documentIds: [request.documentId] } : { tabId: request.tabId, frameIds: [0] };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`the page did not answer within ${PAGE_CALL_TIMEOUT_MS / 1000} s`)), PAGE_CALL_TIMEOUT_MS);
  });
  try {
    const [injection] = await Promise.race([browser.scripting.executeScript({ target, world: 'MAIN', injectImmediately: true, func: func as () => void, args }), timeout]);
    return injection?.result as T;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * True for the load a "reload without plugins" asked for, whose rule it lifts once the document is
 * parsed. Decided by the tab, not by the page's flag: the flag is kept per origin, so a load that
 * was redirected to another site does not see it, though the proxy passed it through plugin-free.
 */
async function finishSuppressedLoad(request: SyncRequest): Promise<boolean> {
  if (!(await isSuppressedLoad(request.tabId, request.documentId))) return false;
  try {
    await runInPage(request, documentParsedInPage, []);
  } finally {
    await endSuppressedLoad(request.tabId);
  }
  return true;
}

/** What a sync needs of the gateway for a URL: the injection plan, the active set, the plugins' names, the switches. */
const askGateway = (client: GatewayClient, url: string) => Promise.all([client.inject(url), client.active(url), client.plugins(), client.settings()]);

/** askGateway of the paired gateway; where it does not answer at `address`, where it answers now (it may have come back on another port). */
async function askPairedGateway(client: GatewayClient, address: string | null, url: string) {
  try {
    return await askGateway(client, url);
  } catch (error) {
    const moved = notTheGateway(error) ? await relocatedClient(address) : null;
    if (!moved) throw error;
    return askGateway(moved, url);
  }
}

/**
 * Recomputes what runs on a tab: asks the gateway which plugins are active for the URL, then
 * reconciles the page (starting, stopping, or — when the document has no runtime — injecting
 * them as the fallback), and records the outcome.
 */
export function syncTab(request: SyncRequest): Promise<TabState> {
  return inTabQueue(request.tabId, `sync ${request.reason} ${request.documentId ?? ''}`, async () => {
    const previous = await loadTabState(request.tabId);
    const sameDocument = request.reason !== 'load';
    const state: TabState = {
      tabId: request.tabId,
      url: request.url,
      injection: 'pending',
      matched: sameDocument ? (previous?.matched ?? []) : [],
      runtime: sameDocument ? previous?.runtime : undefined,
      updatedAt: Date.now(),
    };
    if (!isWebUrl(request.url)) return store({ ...state, injection: 'unsupported' });
    if (request.reason === 'load' && (await finishSuppressedLoad(request).catch(() => false))) {
      return store({ ...state, injection: 'suppressed' });
    }
    const settings = await loadSettings();
    const client = clientFor(settings);
    if (!client || !settings.token) {
      // Unpaired, the extension cannot inject; a page the proxy injected still has its plugins.
      const latest = await loadTabState(request.tabId);
      const runtime = latest?.runtime && latest.updatedAt >= state.updatedAt ? latest.runtime : state.runtime;
      return store({ ...state, runtime, injection: runtime?.transport === 'bridge' ? 'proxy' : 'unpaired' });
    }
    let plan, active, plugins, gatewaySettings;
    try {
      [plan, active, plugins, gatewaySettings] = await askPairedGateway(client, settings.gatewayAddress, request.url);
    } catch (error) {
      return store({ ...state, injection: 'failed', injectionError: describeFailure(error) });
    }
    const host = new URL(request.url).hostname;
    const names = new Map(plugins.map((plugin) => [plugin.id, plugin.name ?? plugin.id]));
    state.matched = active.plugins.map(({ id, active: isActive }) => ({
      id,
      name: names.get(id) ?? id,
      active: isActive,
      enabledOnSite: !(gatewaySettings.plugin_disabled_sites[id] ?? []).some((pattern) => hostMatchesSitePattern(host, pattern)),
    }));
    // Where the browser lets the extension run code in the page itself, no plugin code goes in as
    // an inline script (which the site's CSP would block): the runtime asks for each file instead.
    const withoutInline = canRunWithoutInlineScripts();
    if (withoutInline && request.documentId) rememberPlan(request.documentId, plan);
    const reconcilePlan: ReconcilePlan = {
      url: request.url,
      bridge: plan.bridge,
      retry: request.reason === 'retry',
      plugins: plan.plugins.map(({ id, scripts }) => ({
        id,
        scripts: withoutInline ? scripts.map((script) => ({ ...script, js: script.js.map(({ file, path }) => ({ file, path })) })) : scripts,
      })),
    };
    const origin = new URL(request.url).origin;
    const input: ApplyPlanInput = { origin, runtime: withoutInline ? null : plan.runtime, plan: reconcilePlan, force: request.reason === 'retry' };
    let outcome: PageOutcome;
    try {
      outcome = await runInPage(request, applyPlanInPage, [input]);
      if (outcome?.needsRuntime) {
        const started = await runInPageWorld({ ...request, origin }, plan.runtime, 'aiplugs://runtime/page-runtime.js');
        outcome = started ? await runInPage(request, reconcileInPage, [reconcilePlan, origin]) : { outcome: 'failed', error: 'The AiPlugs runtime failed to start on this page (see its console)' };
      }
    } catch (error) {
      const message = (error as Error).message ?? String(error);
      // The document went away (navigated, closed) while we worked: its successor reports itself.
      if (/No (frame|document|tab)|Frame with ID|document.*(not found|removed)/i.test(message)) return previous ?? state;
      outcome = { outcome: plan.plugins.length > 0 ? 'failed' : 'none', error: `The browser refused to inject into this page: ${message}` };
    }
    if (!outcome) outcome = { outcome: 'failed', error: 'The page did not answer' };
    if (outcome.elsewhere) return previous ?? state;
    const latest = await loadTabState(request.tabId);
    // A status report that arrived while we waited belongs to this document: keep it.
    const runtime = latest?.runtime && latest.updatedAt >= state.updatedAt ? latest.runtime : state.runtime;
    return store({
      ...state,
      runtime: outcome.outcome === 'none' || outcome.outcome === 'suppressed' ? runtime && { ...runtime, plugins: [] } : runtime,
      injection: outcome.outcome,
      injectionError: outcome.error,
      csp: outcome.csp,
      updatedAt: Date.now(),
    });
  });
}

/** Records what the page runtime says about its plugins (badge count, per-plugin state). */
export function recordRuntimeStatus(tabId: number, status: RuntimeStatus): Promise<TabState> {
  return inTabQueue(tabId, 'status', async () => {
    const previous = await loadTabState(tabId);
    const base: TabState = previous ?? { tabId, url: status.url, injection: 'pending', matched: [], updatedAt: Date.now() };
    const undecided = base.injection === 'pending' || base.injection === 'none' || (base.injection === 'unpaired' && status.transport === 'bridge');
    const injection = undecided ? (status.transport === 'bridge' ? 'proxy' : 'extension') : base.injection;
    return store({ ...base, url: status.url, runtime: status, injection, updatedAt: Date.now() });
  });
}

/** Re-syncs every tab we know (after a switch changed), optionally only those on one host. */
export async function resyncTabs(filter: (state: TabState) => boolean = () => true): Promise<void> {
  const states = (await allTabStates()).filter(filter);
  await Promise.all(states.map((state) => syncTab({ tabId: state.tabId, url: state.url, reason: 'settings' }).catch(() => undefined)));
}
