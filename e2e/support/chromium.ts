import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type LaunchOptions } from '@playwright/test';
import { orClose } from './or-close.js';

/** `CHROMIUM_PATH`, else Debian's Chromium, else Playwright's own browser where one is installed. */
export function chromiumPath(): string | undefined {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  return existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined;
}

/**
 * Chromium still checks for a Google sign-in and registers for push messages at start-up, whatever
 * the flags below say; through the gateway proxy those calls would reach the internet wherever the
 * machine has it (CI does). Their services' addresses go to a closed port on loopback instead.
 */
export const NO_GOOGLE_ACCOUNT_ARGS = ['--gaia-url=http://127.0.0.1:9', '--gcm-checkin-url=http://127.0.0.1:9', '--gcm-registration-url=http://127.0.0.1:9'];

/**
 * A script that runs Chromium with NO_GOOGLE_ACCOUNT_ARGS (and `extraArgs`) before the arguments
 * it is given: for AIPLUGS_BROWSER where the product itself launches the browser (`aiplugs
 * browser`, `aiplugs/playwright`, the dashboard's Launch button), so that a test can keep the
 * command or snippet as a user runs it and still keep Chromium on loopback.
 */
export function writeChromiumLauncher(path: string, extraArgs: readonly string[] = []): string {
  const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;
  writeFileSync(path, `#!/bin/sh\nexec ${[chromiumPath() ?? 'chromium', ...NO_GOOGLE_ACCOUNT_ARGS, ...extraArgs].map(quote).join(' ')} "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

let sharedLauncher: string | undefined;

/**
 * writeChromiumLauncher's script with no extra flags, written once per test process and removed
 * as it exits; empty (the product then finds a browser itself) where there is no Chromium to wrap.
 */
export function loopbackChromium(): string {
  if (!chromiumPath()) return '';
  if (sharedLauncher) return sharedLauncher;
  const dir = mkdtempSync(join(tmpdir(), 'aiplugs-chromium-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  sharedLauncher = writeChromiumLauncher(join(dir, 'chromium'));
  return sharedLauncher;
}

/** Flags that keep Chromium from calling Google services: tests and benchmarks reach loopback only. */
export const QUIET_CHROMIUM_ARGS = ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', ...NO_GOOGLE_ACCOUNT_ARGS];

/** Chromium routed through the gateway proxy, trusting its CA by SPKI only (nothing installed). */
export function launchThroughProxy(proxyUrl: string, caSpki: string, extra: LaunchOptions = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    proxy: { server: proxyUrl },
    args: [...QUIET_CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${caSpki}`],
    ...extra,
  });
}

/** Servers with a gateway in them (a suite's "stack" before the browser), closed by `close`. */
export interface GatewayServers {
  gateway: { ready: { proxyUrl: string; caSpki: string } };
  close(): Promise<unknown>;
}

/**
 * Adds Chromium through `servers`' gateway proxy (launchThroughProxy); the answer's `close` closes
 * the browser first, then the servers. If the browser cannot start, the servers are closed.
 */
export async function withChromium<S extends GatewayServers>(servers: S): Promise<S & { browser: Browser }> {
  const browser = await orClose(launchThroughProxy(servers.gateway.ready.proxyUrl, servers.gateway.ready.caSpki), servers);
  return {
    ...servers,
    browser,
    close: async () => {
      await browser.close();
      return servers.close();
    },
  };
}
