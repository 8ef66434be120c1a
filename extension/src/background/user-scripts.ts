import { onlyOnOrigin } from './origin-guard';

/**
 * The CSP-proof way to run plugin code in a page: `chrome.userScripts.execute` (Chromium 135+)
 * runs code strings in the page's MAIN world as the browser's own injection, which the page's
 * Content-Security-Policy does not govern (it governs what the page loads or inserts, such as an
 * inline `<script>`). It needs the "userScripts" permission and, since Chromium 138, the user's
 * "Allow User Scripts" switch on the extension's details page; without the switch the namespace
 * does not exist. Firefox has no `execute`: there the fallback keeps using inline scripts.
 */

/** Where to run: the tab, and the one document the request is about (so a late call never lands in the next one). */
export interface PageTarget {
  tabId: number;
  documentId?: string | undefined;
  /** The site the code is for: it stops at once in a document of any other (origin-guard.ts). */
  origin?: string | undefined;
}

interface UserScriptsApi {
  getScripts(): Promise<unknown>;
  execute(injection: {
    target: { tabId: number; frameIds?: number[]; documentIds?: string[] };
    world: 'MAIN';
    injectImmediately: boolean;
    js: Array<{ code: string }>;
  }): Promise<Array<{ result?: unknown }>>;
}

function userScriptsApi(): UserScriptsApi | null {
  const api = (globalThis as { chrome?: { userScripts?: Partial<UserScriptsApi> } }).chrome?.userScripts;
  if (!api || typeof api.execute !== 'function' || typeof api.getScripts !== 'function') return null;
  try {
    // Chromium 135-137 keeps the namespace but throws while developer mode is off.
    void api.getScripts().catch(() => undefined);
    return api as UserScriptsApi;
  } catch {
    return null;
  }
}

/** Whether plugin code can run in pages without inline scripts (asked each time: the user may flip the switch). */
export const canRunWithoutInlineScripts = (): boolean => userScriptsApi() !== null;

/** Set as the completion value of a script that ran to its end; a throw or a syntax error leaves none. */
const FINISHED = 'aiplugs:finished';

/**
 * Runs `code` as a classic script in the page's MAIN world (top-level declarations become page
 * globals, as with the proxy's `<script src>`). Resolves true if it ran to its end, false if it
 * threw or did not parse (the page's console has the error).
 *
 * @example
 *   await runInPageWorld({ tabId, documentId }, 'window.x = 1', 'aiplugs://demo/content.js') // → true
 */
export async function runInPageWorld(target: PageTarget, code: string, sourceUrl: string): Promise<boolean> {
  const api = userScriptsApi();
  if (!api) throw new Error('User scripts are not allowed for AiPlugs in this browser');
  const injectionTarget = target.documentId ? { tabId: target.tabId, documentIds: [target.documentId] } : { tabId: target.tabId, frameIds: [0] };
  // The marker is a statement of its own after a line break, so a trailing line comment cannot swallow it.
  const [result] = await api.execute({
    target: injectionTarget,
    world: 'MAIN',
    injectImmediately: true,
    js: [{ code: `${target.origin ? onlyOnOrigin(code, target.origin) : code}\n;${JSON.stringify(FINISHED)}\n//# sourceURL=${sourceUrl}\n` }],
  });
  return result?.result === FINISHED;
}
