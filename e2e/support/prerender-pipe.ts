import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from '@playwright/test';
import { devtoolsPipe, type DevtoolsPipe } from '../../gateway/src/browser/devtools-pipe.js';
import { chromiumPath, QUIET_CHROMIUM_ARGS } from './chromium.js';
import { respond, type Handler, type TestSite } from './test-site.js';

/**
 * Playwright turns prerendering off in the browsers it drives ("PrerenderingDisabledByDevTools"),
 * so the prerender tests run Chromium over its DevTools pipe themselves, as `aiplugs browser`
 * does. This is what they share: the site, the browser and the steps.
 */

const html = (head: string, body: string) => respond(200, { 'content-type': 'text/html; charset=utf-8' }, `<!doctype html><html><head><title>t</title>${head}</head><body>${body}</body></html>`);

/** `/` asks Chromium to prerender `/next`, which loads `/seen.gif` once it is parsing. */
export const PRERENDER_SITE: Record<string, Handler> = {
  '/': html('<script type="speculationrules">{"prerender": [{"source": "list", "urls": ["/next"]}]}</script>', '<a id="go" href="/next">next</a>'),
  '/next': html('', '<p>next</p><img src="/seen.gif" alt="">'),
  // Asked for once the prerendered page is parsing: it is far enough along to be shown.
  '/seen.gif': respond(200, { 'content-type': 'image/gif', 'cache-control': 'no-store' }, Buffer.from('R0lGODlhAQABAAAAACw=', 'base64')),
};

export interface PipedChromium {
  pipe: DevtoolsPipe;
  close(): Promise<void>;
}

/** Headless Chromium on a fresh profile, driven over its DevTools pipe; `args` go before the first URL. */
export async function launchPipedChromium(args: readonly string[]): Promise<PipedChromium> {
  const profileDir = await mkdtemp(join(tmpdir(), 'aiplugs-piped-chromium-'));
  const browser = spawn(
    chromiumPath() ?? 'chromium',
    [`--user-data-dir=${profileDir}`, '--headless', ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), ...args, '--remote-debugging-pipe', ...QUIET_CHROMIUM_ARGS, 'about:blank'],
    { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] },
  );
  return {
    pipe: devtoolsPipe(browser.stdio[3] as Writable, browser.stdio[4] as Readable),
    async close() {
      browser.kill('SIGKILL');
      await rm(profileDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    },
  };
}

/**
 * Evaluates `expression` (awaiting a promise it gives) in the target of `type` whose URL is `url`
 * (a page shown, never one still prerendering) or, for a worker, starts with it; undefined while
 * there is none.
 */
export async function evaluateIn(pipe: DevtoolsPipe, url: string, expression: string, type = 'page'): Promise<unknown> {
  const { targetInfos } = await pipe.call<{ targetInfos: Array<{ targetId: string; type: string; url: string; subtype?: string }> }>('Target.getTargets');
  const target = targetInfos.find((info) => info.type === type && (type === 'page' ? info.url === url : info.url.startsWith(url)) && info.subtype !== 'prerender');
  if (!target) return undefined;
  const { sessionId } = await pipe.call<{ sessionId: string }>('Target.attachToTarget', { targetId: target.targetId, flatten: true });
  try {
    return (await pipe.call<{ result: { value?: unknown } }>('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, 15_000, sessionId)).result.value;
  } finally {
    await pipe.call('Target.detachFromTarget', { sessionId });
  }
}

/**
 * Opens PRERENDER_SITE's `/`, waits for Chromium to prerender `/next` and for that page to be
 * loading, lets it run for `runMs`, then clicks through to it.
 */
export async function showPrerendered(pipe: DevtoolsPipe, site: TestSite, runMs: number): Promise<void> {
  const count = (path: string, purpose?: string) => site.requests.filter((request) => request.path === path && (!purpose || String(request.headers['sec-purpose']).includes(purpose))).length;
  const [prerenders, seen] = [count('/next', 'prerender'), count('/seen.gif')];
  // Nothing attaches to the page until its prerender has begun: Chromium prerenders nothing for a
  // page a DevTools client is attached to.
  await pipe.call('Target.createTarget', { url: `${site.origin}/` });
  await expect.poll(() => count('/next', 'prerender'), { message: 'Chromium prerendered /next' }).toBe(prerenders + 1);
  await expect.poll(() => count('/seen.gif'), { message: 'the prerendered page is loading' }).toBe(seen + 1);
  await sleep(runMs);
  await evaluateIn(pipe, `${site.origin}/`, "document.getElementById('go').click()");
}
