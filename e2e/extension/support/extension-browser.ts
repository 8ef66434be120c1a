import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, expect, type BrowserContext, type Page, type Worker } from '@playwright/test';
import { chromiumPath, QUIET_CHROMIUM_ARGS } from '../../support/chromium.js';
import { REPO_ROOT } from '../../support/gateway-process.js';
import { goto } from '../../support/navigate.js';

/** The Chromium build of the extension (`npm run build:extension`; `npm test` builds it first). */
export const EXTENSION_DIR = join(REPO_ROOT, 'extension/.output/chrome-mv3');
/** Fixed by the `key` in extension/wxt.config.ts. */
export const EXTENSION_ID = 'begpjpdcgffpmaidncfacapllamkklkg';
export const FIXTURE_PLUGINS = join(REPO_ROOT, 'e2e/extension/fixtures/plugins');
export const ARTIFACTS = join(REPO_ROOT, 'e2e/artifacts');

export interface ExtensionBrowser {
  context: BrowserContext;
  userDataDir: string;
  /** The extension's current service worker (a new one after a restart). */
  worker: () => Promise<Worker>;
  close: () => Promise<void>;
}

export interface LaunchOptions {
  /** Route every request through this proxy (Chromium flag, loopback included). */
  proxyServer?: string;
  /** Trust the gateway CA by its SPKI hash. */
  caSpki?: string;
  /** Reuse a profile (to check what survives a browser restart). */
  userDataDir?: string;
}

/**
 * Chromium with the built extension loaded, in a persistent profile: the only way extensions load
 * under Playwright (see STACK-NOTES). Test sites' self-signed certificates are accepted.
 */
export async function launchWithExtension(options: LaunchOptions = {}): Promise<ExtensionBrowser> {
  if (!existsSync(join(EXTENSION_DIR, 'manifest.json'))) throw new Error(`No extension build at ${EXTENSION_DIR}: run "npm run build:extension"`);
  const userDataDir = options.userDataDir ?? (await mkdtemp(join(tmpdir(), 'aiplugs-ext-profile-')));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath(),
    headless: true,
    ignoreHTTPSErrors: true,
    ...(options.proxyServer ? { proxy: { server: options.proxyServer } } : {}),
    args: [
      ...QUIET_CHROMIUM_ARGS,
      `--disable-extensions-except=${EXTENSION_DIR}`,
      `--load-extension=${EXTENSION_DIR}`,
      ...(options.caSpki ? [`--ignore-certificate-errors-spki-list=${options.caSpki}`] : []),
    ],
  });
  const worker = async () => {
    // The newest one: after a restart Playwright may still list the stopped worker first.
    const live = context.serviceWorkers().filter((candidate) => candidate.url().startsWith(`chrome-extension://${EXTENSION_ID}/`)).at(-1);
    return live ?? context.waitForEvent('serviceworker', { predicate: (candidate) => candidate.url().startsWith(`chrome-extension://${EXTENSION_ID}/`) });
  };
  await worker();
  return {
    context,
    userDataDir,
    worker,
    close: async () => {
      await context.close();
      if (!options.userDataDir) await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** The popup, opened as a page about `tabId` (what the toolbar popup shows for that tab). */
export async function openPopup(context: BrowserContext, tabId?: number): Promise<Page> {
  const popup = await context.newPage();
  await popup.setViewportSize({ width: 380, height: 640 });
  await goto(popup, `chrome-extension://${EXTENSION_ID}/popup.html${tabId === undefined ? '' : `?tabId=${tabId}`}`);
  await expect(popup.locator('body')).toHaveAttribute('data-ready', 'true');
  return popup;
}

/** Pairs the extension with a gateway through the popup, as a user would. */
export async function pairThroughPopup(context: BrowserContext, apiUrl: string, token: string): Promise<void> {
  const popup = await openPopup(context);
  await popup.getByTestId('address').fill(apiUrl);
  await popup.getByTestId('token').fill(token);
  await popup.getByTestId('pair').click();
  await expect(popup.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await popup.close();
}

/** The extension's tab id for a page (looked up by URL from the service worker). */
export async function tabIdOf(browser: ExtensionBrowser, page: Page): Promise<number> {
  const url = page.url();
  const worker = await browser.worker();
  const id = await worker.evaluate(async (wanted) => {
    const tabs = await chrome.tabs.query({});
    return tabs.find((tab) => tab.url === wanted)?.id ?? null;
  }, url);
  if (id === null) throw new Error(`No tab with URL ${url}`);
  return id;
}

export async function badgeText(browser: ExtensionBrowser, tabId: number): Promise<string> {
  const worker = await browser.worker();
  return worker.evaluate((id) => chrome.action.getBadgeText({ tabId: id }), tabId);
}

/** Keeps a screenshot of the popup as a test artifact (e2e/artifacts/, git-ignored). */
export async function keepScreenshot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

declare global {
  // The extension APIs as the tests call them inside the service worker.
  const chrome: {
    tabs: { query(query: object): Promise<Array<{ id?: number; url?: string }>> };
    action: { getBadgeText(details: { tabId: number }): Promise<string> };
    proxy: { settings: { get(details: object): Promise<{ value: { mode?: string; pacScript?: { data?: string } }; levelOfControl: string }> } };
    declarativeNetRequest: {
      getDynamicRules(): Promise<Array<{ id: number; condition: { regexFilter?: string; resourceTypes?: string[] } }>>;
      getSessionRules(): Promise<Array<{ id: number }>>;
    };
    storage: { local: { get(key: string): Promise<Record<string, unknown>> }; session: { get(key: string | null): Promise<Record<string, unknown>> } };
  };
}
