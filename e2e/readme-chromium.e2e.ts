import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, expect, test } from '@playwright/test';
import { chromiumPath, QUIET_CHROMIUM_ARGS } from './support/chromium.js';
import { REPO_ROOT, startGatewayProcess } from './support/gateway-process.js';
import { respond, startTestSite } from './support/test-site.js';
import { goto } from './support/navigate.js';

test.describe.configure({ timeout: 120_000 });

/** The flags of the README's manual Chromium command, as a user would paste them with their values filled in. */
async function readmeChromiumFlags(values: Record<string, string>): Promise<string[]> {
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const block = /```sh\n(chromium [^`]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README has no ```sh block starting with `chromium`');
  // Shell words (the README's have no spaces inside quotes); quotes are removed, as a shell does.
  const filled = Object.entries(values).reduce((text, [placeholder, value]) => text.replace(placeholder, value), block);
  const words = filled.replace(/\\\n/g, ' ').trim().split(/\s+/);
  return words.slice(1).map((word) => word.replace(/'([^']*)'|"([^"]*)"/g, '$1$2'));
}

test("README's manual Chromium command gives plugins to local sites (localhost and 127.0.0.1) too", async () => {
  const gateway = await startGatewayProcess();
  const site = await startTestSite({ '/': respond(200, { 'content-type': 'text/html' }, '<!doctype html><title>local</title><p>local site</p>') }, { https: false });
  const profileDir = await mkdtemp(join(tmpdir(), 'aiplugs-readme-profile-'));
  const flags = (await readmeChromiumFlags({ 'http://127.0.0.1:8080': gateway.ready.proxyUrl, '<SPKI printed at start>': gateway.ready.caSpki }))
    .filter((flag) => !flag.startsWith('--user-data-dir='));
  expect(flags).toContain(`--proxy-server=${gateway.ready.proxyUrl}`);
  const context = await chromium.launchPersistentContext(profileDir, { executablePath: chromiumPath(), headless: true, args: [...QUIET_CHROMIUM_ARGS, ...flags] });
  try {
    const page = await context.newPage();
    for (const origin of [`http://localhost:${site.port}`, `http://127.0.0.1:${site.port}`]) {
      await goto(page, `${origin}/`);
      const plugins = await page.evaluate(() => (window as unknown as { AiPlugs?: { plugins: string[] } }).AiPlugs?.plugins ?? null);
      expect(plugins, origin).toContain('echo');
    }
  } finally {
    await context.close();
    await site.close();
    await gateway.stop();
    await rm(profileDir, { recursive: true, force: true });
  }
});
