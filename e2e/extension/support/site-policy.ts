import { expect, type BrowserContext, type Page } from '@playwright/test';
import { EXTENSION_ID } from './extension-browser.js';

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

/**
 * Asserts the site's policy was in force: its inline script was blocked, and that is the only
 * violation, so nothing AiPlugs added was refused either (or let through by a weakened policy).
 */
export async function expectOnlyTheSiteInlineScriptBlocked(page: Page, policy?: string): Promise<void> {
  await page.waitForLoadState('load');
  expect(await siteInlineScriptRan(page)).toBe(false);
  const violations = await violationsOf(page);
  expect(violations.map(({ directive, blocked, sample }) => ({ directive, blocked, sample }))).toEqual([
    { directive: 'script-src-elem', blocked: 'inline', sample: 'document.documentElement.setAttribute("data-' },
  ]);
  if (policy) expect(violations[0]?.policy).toBe(policy);
}

/**
 * Frames `target` from another origin (the test site's `/framer` on 127.0.0.1) and answers
 * whether the framed document loaded; X-Frame-Options: DENY turns it into Chromium's error page.
 */
export async function framedFromAnotherOrigin(context: BrowserContext, framerOrigin: string, target: string): Promise<boolean> {
  const page = await context.newPage();
  try {
    await page.goto(`${framerOrigin}/framer?src=${encodeURIComponent(target)}`);
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
  await page.goto(`chrome://extensions/?id=${EXTENSION_ID}`);
  const toggle = page.locator('#allow-user-scripts');
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-pressed', 'true');
  await page.close();
}
