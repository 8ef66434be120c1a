import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect, test } from '@playwright/test';
import { loopbackChromium } from '../support/chromium.js';
import { REPO_ROOT, startGatewayProcess } from '../support/gateway-process.js';
import { respond, startTestSite, type TestSite } from '../support/test-site.js';
import { goto } from '../support/navigate.js';

// Every test spawns real Node and Chromium processes; a busy 2-core machine needs more than the default minute.
test.describe.configure({ timeout: 120_000 });

const EXAMPLE = join(REPO_ROOT, 'docs/examples/playwright.mjs');

let site: TestSite;
test.beforeAll(async () => {
  site = await startTestSite({ '/': respond(200, { 'content-type': 'text/html' }, '<!doctype html><html><head><title>Helper page</title></head><body><p>hello</p></body></html>') });
});
test.afterAll(async () => site?.close());

/** Runs a documented example exactly as a user would, with plain Node (`aiplugs/playwright` is compiled JavaScript). */
function runExample(env: NodeJS.ProcessEnv, script = EXAMPLE): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, `${site.origin}/`], {
      cwd: REPO_ROOT,
      env: { ...process.env, AIPLUGS_BROWSER: loopbackChromium(), AIPLUGS_PROXY_TRUSTED_TEST_HOSTS: 'localhost', AIPLUGS_API_PORT: '0', AIPLUGS_PROXY_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The README's Playwright snippet, verbatim but for the page it opens. */
async function readmeSnippet(url: string): Promise<string> {
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const block = /```js\n([^`]*from 'aiplugs\/playwright'[^`]*)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no ```js block importing aiplugs/playwright');
  if (!block.includes("'https://example.com/'")) throw new Error('the README snippet no longer opens https://example.com/: update this test');
  return block.replace("'https://example.com/'", JSON.stringify(url));
}

const profiles = async (dir: string) => (await readdir(dir)).filter((name) => name.startsWith('aiplugs-playwright-'));

test('the aiplugs/playwright example starts a gateway, sees the plugins on the page, and cleans up', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-helper-'));
  // A private TMPDIR: the browser profile must appear and vanish there, whatever runs in parallel.
  const privateTmp = await mkdtemp(join(tmpdir(), 'aiplugs-helper-tmp-'));
  try {
    const result = await runExample({ AIPLUGS_DATA_DIR: dataDir, TMPDIR: privateTmp });
    expect(result.code, result.stderr).toBe(0);
    const line = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}');
    expect(line).toMatchObject({ title: 'Helper page', attached: false });
    expect(line.plugins).toContain('echo');
    expect(existsSync(join(dataDir, 'runtime.json'))).toBe(false);
    expect(await profiles(privateTmp)).toEqual([]);
  } finally {
    await rm(privateTmp, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('the helper attaches to a running gateway and leaves it running', async () => {
  const gateway = await startGatewayProcess();
  try {
    const result = await runExample({ AIPLUGS_DATA_DIR: gateway.dataDir });
    expect(result.code, result.stderr).toBe(0);
    const line = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}');
    expect(line).toMatchObject({ title: 'Helper page', attached: true, gateway: gateway.ready.apiUrl });
    expect(gateway.child.exitCode).toBeNull();
  } finally {
    await gateway.stop();
  }
});

test('pages get plugins, but the gateway dashboard never goes through the proxy (no plugin can read its session)', async () => {
  const gateway = await startGatewayProcess();
  const { launchWithAiPlugs } = await import('aiplugs/playwright');
  const aiplugs = await launchWithAiPlugs({ dataDir: gateway.dataDir, executablePath: loopbackChromium() || undefined });
  try {
    const page = await aiplugs.context.newPage();
    await goto(page, `${site.origin}/`);
    await expect.poll(() => page.evaluate(() => (window as unknown as { AiPlugs?: { plugins: string[] } }).AiPlugs?.plugins ?? [])).toContain('echo');
    await goto(page, `${aiplugs.gateway.apiUrl}/login`);
    await expect(page.getByRole('heading', { name: 'AiPlugs dashboard' })).toBeVisible();
    expect(await page.evaluate(() => 'AiPlugs' in window)).toBe(false);
  } finally {
    await aiplugs.close();
    await gateway.stop();
  }
});

test("the README's Playwright snippet runs with plain node and sees the page's plugins", async ({}, testInfo) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-readme-'));
  // Inside the repository (test-results/), where `aiplugs/playwright` resolves to this package, as in a project that installed it.
  const script = testInfo.outputPath('readme-snippet.mjs');
  try {
    await mkdir(dirname(script), { recursive: true });
    await writeFile(script, await readmeSnippet(`${site.origin}/`));
    const result = await runExample({ AIPLUGS_DATA_DIR: dataDir }, script);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("'echo'");
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
