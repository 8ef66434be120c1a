import { ApiError } from '../api/api-error.js';
import { apiBypass, builtExtensionDir } from '../browser/browser-args.js';
import { findBrowser } from '../browser/find-browser.js';
import { launchBrowser, type BrowserExit, type LaunchedBrowser } from '../browser/launch-browser.js';
import type { Logger } from '../events/logger.js';

/** Browsers the dashboard keeps open at once: each is a whole Chromium; a runaway button costs no more. */
const MAX_OPEN_BROWSERS = 4;
/** A browser that cannot start (bad flag, broken install) exits within moments: wait this long to say so. */
const EARLY_EXIT_MS = 1500;

export interface BrowserLauncherOptions {
  /** The gateway's environment (where `AIPLUGS_BROWSER`, `CHROMIUM_PATH` and `DISPLAY` are read). */
  env: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  /** Known once the servers listen. */
  addresses: () => { apiUrl: string; proxyUrl: string };
  caSpki: string;
  logger: Logger;
}

export interface LaunchOutcome {
  pid: number;
  browser: string;
  executable: string;
  extensionLoaded: boolean;
}

export interface BrowserLauncher {
  /** Starts the browser `aiplugs browser` starts (temporary profile, proxy, CA by SPKI, the built extension) at `url`. */
  launch(url: string | undefined): Promise<LaunchOutcome>;
  /** Closes every browser it started (the gateway is stopping). */
  closeAll(): Promise<void>;
}

/** No window can open: Linux (or another X11/Wayland system) with neither display variable. */
export function lacksDisplay(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): boolean {
  return platform !== 'darwin' && platform !== 'win32' && !env.DISPLAY && !env.WAYLAND_DISPLAY;
}

function lastWords(exit: BrowserExit): string {
  const said = exit.output.trim().split('\n').slice(-4).join(' ').trim();
  return said ? `; it said: ${said}` : ' (it printed nothing)';
}

/**
 * The dashboard's "Launch browser": the same launch as `aiplugs browser` (browser/launch-browser),
 * with its failures in words — no browser installed, no display to open a window on, a browser
 * that exits at once — instead of a process that silently never appears.
 */
export function createBrowserLauncher(options: BrowserLauncherOptions): BrowserLauncher {
  const open = new Set<LaunchedBrowser>();
  const platform = options.platform ?? process.platform;
  return {
    async launch(url) {
      if (open.size >= MAX_OPEN_BROWSERS) throw new ApiError(429, 'too_many_browsers', `${open.size} browsers started from the dashboard are still open: close one first`);
      const found = await findBrowser({ env: options.env, platform });
      if (!found) {
        const explicit = options.env.AIPLUGS_BROWSER ?? options.env.CHROMIUM_PATH;
        throw new ApiError(
          404,
          'browser_not_found',
          explicit
            ? `No browser at ${explicit} (set by ${options.env.AIPLUGS_BROWSER ? 'AIPLUGS_BROWSER' : 'CHROMIUM_PATH'}): fix the path and restart the gateway`
            : 'No Chromium-family browser found (Chromium, Chrome, Edge or Brave): install one (Debian: apt-get install chromium), or set AIPLUGS_BROWSER=/path/to/browser and restart the gateway',
        );
      }
      if (lacksDisplay(platform, options.env)) {
        throw new ApiError(
          409,
          'no_display',
          'There is no display to open a browser window on ($DISPLAY and $WAYLAND_DISPLAY are unset for the gateway): start the gateway from a desktop session, or use `aiplugs browser --headless` for automation',
        );
      }
      const { apiUrl, proxyUrl } = options.addresses();
      const extensionDir = builtExtensionDir();
      let browser: LaunchedBrowser;
      try {
        browser = await launchBrowser({
          executable: found.path,
          proxyUrl,
          caSpki: options.caSpki,
          extensionDir,
          url: url ?? 'about:blank',
          noSandbox: platform === 'linux' && process.getuid?.() === 0,
          bypass: [apiBypass(apiUrl)],
        });
      } catch (error) {
        throw new ApiError(502, 'browser_failed', (error as Error).message);
      }
      const early = await Promise.race([browser.closed, new Promise<null>((resolve) => setTimeout(resolve, EARLY_EXIT_MS, null))]);
      if (early && !early.requested) {
        throw new ApiError(502, 'browser_failed', `${found.name === 'custom' ? found.path : found.name} ${early.signal ? `was ended by ${early.signal}` : `exited with code ${early.code}`} as it started${lastWords(early)}`);
      }
      open.add(browser);
      void browser.closed.then((exit) => {
        open.delete(browser);
        if (!exit.requested && (exit.code !== 0 || exit.signal !== null)) options.logger.warn(`Browser ${browser.pid} ended with ${exit.signal ?? `code ${exit.code}`}${lastWords(exit)}`);
        else options.logger.info(`Browser ${browser.pid} closed; its profile is removed`);
      });
      options.logger.info(`Started ${found.name} (pid ${browser.pid}) through ${proxyUrl} from the dashboard`);
      return { pid: browser.pid, browser: found.name, executable: found.path, extensionLoaded: extensionDir !== null };
    },
    async closeAll() {
      await Promise.allSettled([...open].map((browser) => browser.close()));
    },
  };
}
