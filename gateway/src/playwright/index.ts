/**
 * `aiplugs/playwright`: run your own Playwright script against pages with AiPlugs plugins.
 *
 * `launchWithAiPlugs()` attaches to the running gateway (or starts one in this process), then
 * returns a Chromium BrowserContext wired to it: every request through the gateway proxy, the
 * gateway CA trusted by SPKI inside a temporary profile (nothing installed anywhere), the
 * gateway's own API kept off the proxy, and the
 * built extension loaded when there is one. `close()` ends the browser, removes the profile and
 * stops the gateway if it started one.
 *
 * @example
 *   import { launchWithAiPlugs } from 'aiplugs/playwright';
 *   const aiplugs = await launchWithAiPlugs();
 *   const page = await aiplugs.context.newPage();
 *   await page.goto('https://example.com/');
 *   console.log(await page.evaluate(() => window.AiPlugs.plugins));
 *   await aiplugs.close();
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, BrowserType, LaunchOptions } from '@playwright/test';
import { apiBypass, builtExtensionDir } from '../browser/browser-args.js';
import { findBrowser } from '../browser/find-browser.js';
import { attachOrStartGateway } from '../browser/gateway-link.js';
import type { ReadyInfo } from '../gateway.js';

export interface LaunchWithAiPlugsOptions {
  /** The gateway's data dir (default: AIPLUGS_DATA_DIR, else the per-user one). */
  dataDir?: string;
  /** When no gateway runs for that data dir: start one in this process (default) or throw. */
  startGateway?: boolean;
  /** Where the started gateway's log lines go (default: nowhere). */
  onLog?: (line: string) => void;
  /** Default true. */
  headless?: boolean;
  /** An unpacked extension folder, or false for none (default: extension/.output/chrome-mv3 when built). */
  extension?: string | false;
  /** Browser executable (default: AIPLUGS_BROWSER / CHROMIUM_PATH, else an installed Chromium, Chrome or Edge, else Playwright's own). */
  executablePath?: string;
  /** Your Playwright `chromium` (default: the one from @playwright/test). */
  chromium?: BrowserType;
  /** More options for `launchPersistentContext` (viewport, locale, …). */
  contextOptions?: Omit<Parameters<BrowserType['launchPersistentContext']>[1], 'proxy' | 'headless'>;
}

export interface AiPlugsSession {
  context: BrowserContext;
  /** Where the gateway is, and its API token for direct calls. */
  gateway: ReadyInfo & { token: string; attached: boolean };
  /** Closes the browser, deletes its profile, and stops the gateway if this call started it. */
  close(): Promise<void>;
}

/**
 * Chromium flags that wire a profile to the gateway. The proxy flags are ours, not Playwright's
 * `proxy` option: Chromium lets later bypass rules win, and Playwright appends `<-loopback>` after
 * the caller's rules, which would send the gateway's own API (the dashboard) through the proxy.
 */
export function aiplugsChromiumArgs(info: Pick<ReadyInfo, 'proxyUrl' | 'apiUrl' | 'caSpki'>, extensionDir: string | null): string[] {
  const args = [
    `--proxy-server=${info.proxyUrl}`,
    // Loopback through the proxy (local sites get plugins), except the gateway itself: no plugin may run in the dashboard.
    `--proxy-bypass-list=<-loopback>;${apiBypass(info.apiUrl)}`,
    `--ignore-certificate-errors-spki-list=${info.caSpki}`,
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ];
  // Playwright passes --disable-extensions; both of these are needed to load one anyway.
  if (extensionDir) args.push(`--disable-extensions-except=${extensionDir}`, `--load-extension=${extensionDir}`);
  return args;
}

/** Starts (or attaches to) a gateway and returns a Playwright context wired to it. */
export async function launchWithAiPlugs(options: LaunchWithAiPlugsOptions = {}): Promise<AiPlugsSession> {
  const chromium = options.chromium ?? (await import('@playwright/test')).chromium;
  const link = await attachOrStartGateway({ dataDir: options.dataDir, start: options.startGateway ?? true, startOptions: { writeLog: options.onLog ?? (() => undefined) } });
  const profileDir = await mkdtemp(join(tmpdir(), 'aiplugs-playwright-'));
  const extensionDir = options.extension === false ? null : options.extension ?? builtExtensionDir();
  const executablePath = options.executablePath ?? (await findBrowser())?.path;
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profileDir, {
      ...options.contextOptions,
      ...(executablePath ? { executablePath } : {}),
      headless: options.headless ?? true,
      args: [...aiplugsChromiumArgs(link.info, extensionDir), ...((options.contextOptions as LaunchOptions | undefined)?.args ?? [])],
    });
  } catch (error) {
    await rm(profileDir, { recursive: true, force: true });
    await link.stop();
    throw error;
  }
  let closing: Promise<void> | null = null;
  return {
    context,
    gateway: { ...link.info, token: link.token, attached: link.attached },
    close: () =>
      (closing ??= (async () => {
        await context.close().catch(() => undefined);
        await rm(profileDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
        await link.stop();
      })()),
  };
}
