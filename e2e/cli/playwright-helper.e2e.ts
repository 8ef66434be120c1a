import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { chromiumPath } from '../support/chromium.js';
import { REPO_ROOT, startGatewayProcess } from '../support/gateway-process.js';
import { respond, startTestSite, type TestSite } from '../support/test-site.js';

// Every test spawns real Node and Chromium processes; a busy 2-core machine needs more than the default minute.
test.describe.configure({ timeout: 120_000 });

const EXAMPLE = join(REPO_ROOT, 'gateway/src/playwright/example.ts');

let site: TestSite;
test.beforeAll(async () => {
  site = await startTestSite({ '/': respond(200, { 'content-type': 'text/html' }, '<!doctype html><html><head><title>Helper page</title></head><body><p>hello</p></body></html>') });
});
test.afterAll(async () => site?.close());

/** Runs the documented example exactly as a user would: `node --import tsx example.ts URL`. */
function runExample(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', EXAMPLE, `${site.origin}/`], {
      cwd: REPO_ROOT,
      env: { ...process.env, AIPLUGS_BROWSER: chromiumPath() ?? '', AIPLUGS_PROXY_TRUSTED_TEST_HOSTS: 'localhost', AIPLUGS_API_PORT: '0', AIPLUGS_PROXY_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
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
  const { launchWithAiPlugs } = await import('../../gateway/src/playwright/index.js');
  const aiplugs = await launchWithAiPlugs({ dataDir: gateway.dataDir, executablePath: chromiumPath() });
  try {
    const page = await aiplugs.context.newPage();
    await page.goto(`${site.origin}/`);
    await expect.poll(() => page.evaluate(() => (window as unknown as { AiPlugs?: { plugins: string[] } }).AiPlugs?.plugins ?? [])).toContain('echo');
    await page.goto(`${aiplugs.gateway.apiUrl}/login`);
    await expect(page.getByRole('heading', { name: 'AiPlugs dashboard' })).toBeVisible();
    expect(await page.evaluate(() => 'AiPlugs' in window)).toBe(false);
  } finally {
    await aiplugs.close();
    await gateway.stop();
  }
});
