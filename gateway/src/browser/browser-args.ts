import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../package-paths.js';

/** Where the extension helper's `wxt build` puts the Chromium MV3 build. */
export const BUILT_EXTENSION_DIR = fileURLToPath(new URL('extension/.output/chrome-mv3/', PACKAGE_ROOT));

/** The built extension if it is there (a folder with manifest.json), else null. */
export function builtExtensionDir(dir = BUILT_EXTENSION_DIR): string | null {
  return existsSync(join(dir, 'manifest.json')) ? dir.replace(/[\\/]$/, '') : null;
}

export interface BrowserArgsOptions {
  profileDir: string;
  proxyUrl: string;
  caSpki: string;
  extensionDir?: string | null;
  url?: string;
  headless?: boolean;
  /** Chromium refuses to start as root without it (containers, CI). */
  noSandbox?: boolean;
  /** `host:port`s reached directly, not through the proxy: the gateway's own API (see below). */
  bypass?: string[];
}

/**
 * The gateway API origin must never go through the proxy: the proxy would inject plugin scripts
 * into the dashboard, which holds a session for the whole API.
 */
export function apiBypass(apiUrl: string): string {
  return new URL(apiUrl).host;
}

/**
 * Command-line flags for a Chromium-family browser wired to the gateway, the way HTTP Toolkit
 * launches browsers: a throw-away profile, every request through the proxy (loopback included),
 * the CA trusted by SPKI inside this profile only, and no first-run or background chatter.
 */
export function chromiumArgs(options: BrowserArgsOptions): string[] {
  const args = [
    `--user-data-dir=${options.profileDir}`,
    `--proxy-server=${options.proxyUrl}`,
    // By default Chromium sends localhost straight out; plugins should see local sites too,
    // except the gateway itself.
    `--proxy-bypass-list=${['<-loopback>', ...(options.bypass ?? [])].join(';')}`,
    `--ignore-certificate-errors-spki-list=${options.caSpki}`,
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
  ];
  if (options.extensionDir) {
    args.push(
      `--load-extension=${options.extensionDir}`,
      `--disable-extensions-except=${options.extensionDir}`,
      // Branded Chrome 137+ ignores --load-extension unless this feature is switched off.
      '--disable-features=DisableLoadExtensionCommandLineSwitch',
    );
  }
  if (options.headless) args.push('--headless');
  if (options.noSandbox) args.push('--no-sandbox');
  args.push(options.url ?? 'about:blank');
  return args;
}
