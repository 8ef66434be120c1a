/**
 * Functions the background runs inside a tab's page world with `scripting.executeScript`.
 * Each is serialized on its own: it may use only its arguments and the page's globals, never
 * anything imported or declared outside it.
 */
import type { PageOutcome } from '../common/protocol';
import type { InjectedFile, RunAt } from '../common/gateway-answers';

export interface ReconcilePlan {
  url: string;
  /** The gateway's bridge base for this URL's plugins (proxied pages switch to it). */
  bridge: string | null;
  /** Restart plugins that are in error (the popup's retry). */
  retry: boolean;
  /**
   * A script file without `code` is run by the background on the runtime's request (the
   * `chrome.userScripts` route); with it, the runtime inserts it as an inline script.
   */
  plugins: Array<{ id: string; scripts: Array<{ run_at: RunAt; js: PlanFile[]; css: InjectedFile[] }> }>;
}

export type PlanFile = Omit<InjectedFile, 'code'> & { code?: string };

export interface ApplyPlanInput {
  /**
   * The origin of the plan's URL, worked out by the background: the page function compares it with
   * `location.origin`, which no page can forge, using none of the page's globals (a page can
   * replace `URL`).
   */
  origin: string;
  /**
   * The extension-transport page runtime as a complete script (from `GET /api/inject`), inserted
   * as an inline script; null when the background runs it itself (`chrome.userScripts`): then the
   * fallback is claimed and the answer is `needsRuntime`.
   */
  runtime: string | null;
  plan: ReconcilePlan;
  /** Inject even if an earlier attempt on this document claimed the fallback (retry). */
  force: boolean;
}

/**
 * Brings the document's plugins in line with `plan`:
 * - a page runtime is there (the proxy's, or ours from earlier): it reconciles, so plugins that no
 *   longer match tear down and newly matching ones start;
 * - none is there and plugins match: injects the runtime (extension transport), then the plugins,
 *   exactly once per document, and only once the document is known not to get one from the proxy.
 */
export function applyPlanInPage(input: ApplyPlanInput): PageOutcome | Promise<PageOutcome> {
  type Runtime = { transport: 'bridge' | 'extension'; reconcile: (plan: unknown) => string[] };
  type Hook = { suppressed?: boolean; decided?: boolean; fallbackClaimed?: boolean; whenDecided?: (callback: () => void) => void };
  const w = window as unknown as { __aiplugsRuntime?: Runtime; __aiplugsNavigationHook?: Hook; AiPlugs?: { runtime?: string } };
  const hook = w.__aiplugsNavigationHook;

  const act = (): PageOutcome => {
    // Checked again after the wait below: the document's site is what the plan was made for.
    if (location.origin !== input.origin) return { outcome: 'none', elsewhere: true };
    if (hook && hook.suppressed) return { outcome: 'suppressed' };
    const existing = w.__aiplugsRuntime;
    if (existing) {
      existing.reconcile(input.plan);
      return { outcome: existing.transport === 'bridge' ? 'proxy' : 'extension' };
    }
    if (w.AiPlugs && w.AiPlugs.runtime) return { outcome: 'proxy' }; // an older runtime that cannot reconcile
    if (input.plan.plugins.length === 0) return { outcome: 'none' };
    const type = document.contentType;
    if (type !== 'text/html' && type !== 'application/xhtml+xml') return { outcome: 'unsupported', error: `Not an HTML page (${type})` };
    if (hook) {
      if (hook.fallbackClaimed && !input.force) return { outcome: 'failed', error: 'The AiPlugs runtime did not start on this page' };
      hook.fallbackClaimed = true;
    }
    // (Chromium passes `args` through a serialization that may drop a null property: test the type.)
    if (typeof input.runtime !== 'string') return { outcome: 'extension', needsRuntime: true };
    const script = document.createElement('script');
    const nonced = document.querySelector<HTMLScriptElement>('script[nonce]');
    if (nonced && nonced.nonce) script.nonce = nonced.nonce; // a CSP with a nonce lets a script carrying it run
    script.setAttribute('data-aiplugs', 'runtime-extension');
    try {
      script.textContent = input.runtime;
      (document.head || document.documentElement).appendChild(script);
    } catch (error) {
      return { outcome: 'failed', csp: true, error: `The page refused the AiPlugs runtime: ${(error as Error).message}` };
    }
    script.remove();
    const installed = w.__aiplugsRuntime;
    if (!installed) return { outcome: 'failed', csp: true, error: "The page's Content-Security-Policy blocked the AiPlugs runtime" };
    installed.reconcile(input.plan);
    return { outcome: 'extension' };
  };

  if (hook && hook.decided === false && hook.whenDecided) {
    const whenDecided = hook.whenDecided;
    return new Promise((resolve) => whenDecided(() => resolve(act())));
  }
  return act();
}

/** Starts the plan's plugins in the runtime the background just ran in the page (the `needsRuntime` answer). */
export function reconcileInPage(plan: ReconcilePlan, origin: string): PageOutcome {
  if (location.origin !== origin) return { outcome: 'none', elsewhere: true };
  const runtime = (window as unknown as { __aiplugsRuntime?: { reconcile: (plan: unknown) => string[] } }).__aiplugsRuntime;
  if (!runtime) return { outcome: 'failed', error: 'The AiPlugs runtime did not start on this page' };
  runtime.reconcile(plan);
  return { outcome: 'extension' };
}

/**
 * Resolves once the document is parsed, when the frames and tags written into it have made their
 * requests under the tab's "without plugins" rule. Never waits for `load`: Chromium holds the load
 * event until an injected script's promise settles, so that would wait forever.
 */
export function documentParsedInPage(): void | Promise<void> {
  if (document.readyState === 'loading') return new Promise((resolve) => document.addEventListener('DOMContentLoaded', () => resolve(), { once: true }));
}

/** Marks the tab's next document "without plugins" (runs in the ISOLATED world: same sessionStorage). */
export function markSkipOnceInPage(key: string): void {
  sessionStorage.setItem(key, '1');
}
