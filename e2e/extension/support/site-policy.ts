import { expect, type BrowserContext, type Page } from '@playwright/test';
import { readBrowserBundle } from '../../../gateway/src/built-assets.js';
import { wrapPageRuntime } from '../../../gateway/src/runtime/runtime-source.js';
import { EXTENSION_ID } from './extension-browser.js';
import { SITE_INLINE_CODE } from './extension-site.js';
import { goto } from '../../support/navigate.js';

/** One CSP violation as the strict test site's recorder saw it (`violations.js`). */
export interface Violation {
  directive: string;
  blocked: string;
  sample: string;
  policy: string;
}

export const violationsOf = (page: Page) => page.evaluate(() => (window as unknown as { __violations?: Violation[] }).__violations ?? []);

/** Whether the site's own inline script ran, which its policy forbids. */
export const siteInlineScriptRan = (page: Page) => page.locator('html').evaluate((html) => html.hasAttribute('data-inline-ran'));

/** A violation's `sample`: the first 40 characters of the blocked code (`'report-sample'`). */
const sampleOf = (code: string) => code.slice(0, 40);
/** The page runtime's first characters (the build's, which the gateway serves), as a violation would sample them. */
export const runtimeSample = () => sampleOf(wrapPageRuntime(readBrowserBundle('page-runtime.js')));

/**
 * Asserts the site's policy was in force: its inline script was blocked, and the only other
 * inline scripts blocked are `alsoBlocked` (samples), so nothing else AiPlugs added was refused,
 * or let through by a weakened policy. `policy`: the policy every violation must name.
 */
export async function expectPolicyInForce(page: Page, options: { policy?: string; alsoBlocked?: string[] } = {}): Promise<void> {
  await page.waitForLoadState('load');
  expect(await siteInlineScriptRan(page)).toBe(false);
  const expected = [sampleOf(SITE_INLINE_CODE), ...(options.alsoBlocked ?? [])].map((sample) => ({ directive: 'script-src-elem', blocked: 'inline', sample }));
  const sortBySample = <T extends { sample: string }>(list: T[]) => [...list].sort((a, b) => a.sample.localeCompare(b.sample));
  // Polled: the extension's attempt comes after the load, once the background has heard of it
  // (seconds on a loaded machine: a wait, not a timing claim).
  await expect
    .poll(async () => sortBySample((await violationsOf(page)).map(({ directive, blocked, sample }) => ({ directive, blocked, sample }))), { timeout: 20_000 })
    .toEqual(sortBySample(expected));
  if (options.policy) for (const violation of await violationsOf(page)) expect(violation.policy).toBe(options.policy);
}

/**
 * Frames `target` in a page of `framerOrigin` (the test site's `/framer`) and answers whether the
 * framed document loaded; X-Frame-Options: DENY turns it into Chromium's error page.
 */
export async function framedBy(context: BrowserContext, framerOrigin: string, target: string): Promise<boolean> {
  const page = await context.newPage();
  try {
    await goto(page, `${framerOrigin}/framer?src=${encodeURIComponent(target)}`);
    const frame = await (await page.locator('#framed').elementHandle())?.contentFrame();
    if (!frame) throw new Error('the framer page has no frame');
    await frame.waitForLoadState('load');
    return frame.url() === target && (await frame.locator('h1').count()) > 0;
  } finally {
    await page.close();
  }
}

/**
 * Turns on "Allow User Scripts" for the extension on its chrome://extensions details page, as a
 * user does (Chromium 138+): without it `chrome.userScripts` does not exist.
 */
export async function allowUserScripts(context: BrowserContext): Promise<void> {
  const page = await context.newPage();
  await goto(page, `chrome://extensions/?id=${EXTENSION_ID}`);
  const toggle = page.locator('#allow-user-scripts');
  await toggle.click();
  await expect(toggle).toHaveJSProperty('checked', true);
  await page.close();
}
