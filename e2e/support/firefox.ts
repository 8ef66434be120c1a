import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from '@playwright/test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { caIdentity } from '../../gateway/src/trust/ca-identity.js';
import { nssStore } from '../../gateway/src/trust/nss-store.js';

/**
 * Real Firefox for the e2e suites: Debian's `firefox-esr` driven by puppeteer-core over WebDriver
 * BiDi (Playwright can only drive its own patched Firefox, which cannot be downloaded here).
 * Nothing here uses Playwright's browser fixture; the suites still run under Playwright test, so
 * they share its runner, timeouts, reporter and the skipped-tests rule with the Chromium suites.
 *
 * How the browser is set up, and why (verified with firefox-esr 153 and puppeteer-core 25 and 24.43):
 * - Proxy by prefs (`network.proxy.*`): Firefox has no proxy flag. It sends loopback hosts
 *   through a proxy only with `network.proxy.allow_hijacking_localhost` on (without it a
 *   `http://localhost` test site got no runtime), and the test sites are `localhost`
 *   (STACK-NOTES); `no_proxies_on` is emptied so that nothing at all bypasses the gateway.
 * - HTTPS trust: the gateway CA goes into the profile's own NSS db (`cert9.db`) with certutil,
 *   exactly as `aiplugs ca install` adds it to a user's Firefox profile (nss-store.ts does both).
 *   Firefox then trusts the proxy's leaf certificates with no "accept insecure certs" switch.
 * - The profile is a fresh temporary folder per launch (puppeteer writes its prefs to `user.js`
 *   there), removed on close unless the caller brought its own.
 * - Temporary add-ons: `browser.installExtension(dir)` (BiDi `webExtension.install`) loads an
 *   unpacked build. Its `moz-extension://` pages cannot be opened by BiDi navigation
 *   ("not allowed in this context", even with the add-on's UUID pinned by the pref
 *   `extensions.webextensions.uuids`), so tests observe an add-on through its effect on pages.
 */

/** `FIREFOX_PATH`, else Debian's `firefox-esr` (test/support/required-tools.ts checks it exists). */
export function firefoxPath(): string {
  return process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';
}

/** Prefs that send every request, loopback included, through the proxy at `proxyUrl`. */
export function proxyPrefs(proxyUrl: string): Record<string, string | number | boolean> {
  const { hostname, port } = new URL(proxyUrl);
  return {
    'network.proxy.type': 1, // manual
    'network.proxy.http': hostname,
    'network.proxy.http_port': Number(port),
    'network.proxy.ssl': hostname,
    'network.proxy.ssl_port': Number(port),
    'network.proxy.allow_hijacking_localhost': true,
    'network.proxy.no_proxies_on': '',
  };
}

/** Adds the CA certificate at `caCertPath` to the NSS db of the Firefox profile `profileDir`, trusted for TLS servers. */
export async function trustCaInProfile(profileDir: string, caCertPath: string): Promise<void> {
  const ca = caIdentity(caCertPath, await readFile(caCertPath, 'utf8'));
  await nssStore({ home: profileDir }).add(ca, profileDir);
}

export interface FirefoxOptions {
  /** Route the browser through this proxy (the gateway's `proxyUrl`). */
  proxyUrl?: string;
  /** Trust this CA certificate (the gateway's `caCertPath`) in the profile. */
  trustCaCertPath?: string;
  /** An existing profile folder to use (kept on close); default a fresh temporary one. */
  profileDir?: string;
  prefs?: Record<string, string | number | boolean>;
}

export interface FirefoxSession {
  browser: Browser;
  profileDir: string;
  /** Closes the browser and removes a temporary profile. */
  close(): Promise<void>;
}

/**
 * Starts headless firefox-esr with a profile set up by `options`.
 *
 * @example
 *   const firefox = await launchFirefox({ proxyUrl: gateway.ready.proxyUrl, trustCaCertPath: gateway.ready.caCertPath });
 *   const page = await firefox.browser.newPage();
 *   await page.goto(`${site.origin}/`);
 *   await firefox.close();
 */
export async function launchFirefox(options: FirefoxOptions = {}): Promise<FirefoxSession> {
  const profileDir = options.profileDir ?? (await mkdtemp(join(tmpdir(), 'aiplugs-firefox-')));
  const ownsProfile = options.profileDir === undefined;
  try {
    if (options.trustCaCertPath) await trustCaInProfile(profileDir, options.trustCaCertPath);
    const browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: firefoxPath(),
      headless: true,
      userDataDir: profileDir,
      extraPrefsFirefox: {
        ...(options.proxyUrl ? proxyPrefs(options.proxyUrl) : {}),
        ...options.prefs,
      },
    });
    return {
      browser,
      profileDir,
      close: async () => {
        await browser.close();
        if (ownsProfile) await rm(profileDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (ownsProfile) await rm(profileDir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Opens `url` in a new tab after arming a recorder of Content-Security-Policy violations (a
 * preload script, so it runs before any page script): `violations(page)` reads them.
 */
export async function openRecordingViolations(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  await page.evaluateOnNewDocument(() => {
    const seen: string[] = [];
    (window as Window & { __violations?: string[] }).__violations = seen;
    document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.effectiveDirective} blocked ${event.blockedURI}`));
  });
  await page.goto(url);
  return page;
}

/**
 * Pushes `/spa/next` twice and changes the fragment on an SPA page at `/spa`, then expects each
 * real URL change once in the page's `aiplugs:navigate` record (`window.__navs`, kept by the test
 * sites). The kind depends on which hook saw it first (Firefox fires popstate before hashchange
 * for a fragment change), so only the URLs are compared.
 */
export async function expectOneNavigationPerChange(page: Page): Promise<void> {
  await page.evaluate(() => {
    history.pushState({}, '', '/spa/next');
    history.pushState({}, '', '/spa/next');
    location.hash = 'part';
  });
  const path = (url: string) => `${new URL(url).pathname}${new URL(url).hash}`;
  await expect
    .poll(async () => ((await page.evaluate(() => (window as Window & { __navs?: Array<{ from: string; to: string }> }).__navs)) ?? []).map((nav) => `${path(nav.from)} -> ${path(nav.to)}`))
    .toEqual(['/spa -> /spa/next', '/spa/next -> /spa/next#part']);
}

export const violations = (page: Page): Promise<string[] | undefined> => page.evaluate(() => (window as Window & { __violations?: string[] }).__violations);
