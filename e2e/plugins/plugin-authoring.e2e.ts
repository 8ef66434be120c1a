import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { launchThroughProxy } from '../support/chromium.js';
import { dockElements } from '../support/page-dock.js';
import { CLI, REPO_ROOT } from '../support/gateway-process.js';
import { startTestSite, type TestSite } from '../support/test-site.js';
import { hostileCss, startExampleGateway, strictPage, type ExampleGateway } from './support.js';
import { goto } from '../support/navigate.js';

// The author's loop, end to end: `aiplugs plugin new` scaffolds a plugin that passes
// `aiplugs plugins validate` and its own test, runs in Chromium through the proxy, and hot-reloads:
// an edited content script applies on the next page load, an edited backend restarts its worker,
// and a broken edit keeps the last good version running with the error reported.

const run = promisify(execFile);
const { NODE_TEST_CONTEXT: _, ...cleanEnv } = process.env;

test.describe.configure({ mode: 'serial', timeout: 120_000 });

let pluginsDir: string;
let site: TestSite;
let gateway: ExampleGateway;
let browser: Browser;

test.beforeAll(async () => {
  pluginsDir = await mkdtemp(join(tmpdir(), 'aiplugs-e2e-authoring-'));
  site = await startTestSite({
    '/hostile.css': hostileCss,
    '/article': strictPage('Authoring test', '<main><p>one two three four five</p></main>'),
  });
});

test.afterAll(async () => {
  await browser?.close();
  if (gateway) expect(await gateway.close()).toBe(0);
  await site?.close();
  await rm(pluginsDir, { recursive: true, force: true });
});

async function cli(...args: string[]) {
  return run(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: cleanEnv });
}

/** The scaffold's badge in the dock: `<tone> <text>`. */
async function badge(page: Page, id: string): Promise<string> {
  const found = (await dockElements(page)).find((element) => element.plugin === id && element.kind === 'badge');
  if (!found) return 'none';
  return `${['busy', 'error'].find((tone) => found.className.split(' ').includes(tone)) ?? 'normal'} ${found.text}`;
}

/** The badge once its call has answered (a restarting worker answers late: a hang guard, not a timing claim). */
async function answeredBadge(page: Page, id: string): Promise<string> {
  await expect.poll(() => badge(page, id), { timeout: 30_000 }).not.toMatch(/^(busy|none)/);
  return badge(page, id);
}

for (const backend of ['python', 'node'] as const) {
  test(`plugin new --backend ${backend}: the scaffold validates and passes its own test`, async () => {
    const id = `hello-${backend}`;
    const created = JSON.parse((await cli('plugin', 'new', id, '--backend', backend, '--plugins-dir', pluginsDir, '--json')).stdout) as { dir: string; testCommand: string[] };
    expect(created.dir).toBe(join(pluginsDir, id));
    const validated = await cli('plugins', 'validate', created.dir); // rejects on a non-zero exit (5: problems found)
    expect(validated.stdout).toContain(`✓ ${id} 0.1.0`);
    const [program, ...args] = created.testCommand;
    const own = await run(program!, args, { cwd: created.dir, env: cleanEnv });
    expect(`${own.stdout}${own.stderr}`).toMatch(backend === 'node' ? /# pass 2/ : /Ran 2 tests[\s\S]*OK/);
  });
}

test('the scaffolded plugins run in the page, and edits hot-reload without a restart', async () => {
  gateway = await startExampleGateway({ pluginsDir });
  browser = await launchThroughProxy(gateway.ready.proxyUrl, gateway.ready.caSpki);
  const page = await browser.newPage();
  await goto(page, `${site.origin}/article`);
  for (const id of ['hello-python', 'hello-node']) {
    // The first call starts the worker: a hang guard, not a timing claim.
    await expect.poll(() => badge(page, id), { timeout: 30_000 }).toMatch(/^normal Hello (Python|Node): \d+ words on this page$/);
  }

  // A content-script edit: the next page load gets it.
  const dir = join(pluginsDir, 'hello-python');
  const content = join(dir, 'content.js');
  const original = await readFile(content, 'utf8');
  await writeFile(content, original.replace('words on this page', 'words (edited script)'));
  await expect.poll(async () => {
    await page.reload();
    return answeredBadge(page, 'hello-python');
  }).toMatch(/words \(edited script\)$/);

  // A backend edit: the worker restarts with the new code.
  const backendFile = join(dir, 'backend.py');
  const backendSource = await readFile(backendFile, 'utf8');
  await writeFile(backendFile, backendSource.replace('return {"words": len(text.split()), "characters": len(text)}', 'return {"words": 4242, "characters": len(text)}'));
  await expect.poll(async () => {
    await page.reload();
    return answeredBadge(page, 'hello-python');
  }).toBe('normal Hello Python: 4242 words (edited script)');

  // A broken manifest: the last good version keeps running, the problem is reported with its path.
  const manifestFile = join(dir, 'manifest.json');
  const manifest = await readFile(manifestFile, 'utf8');
  await writeFile(manifestFile, manifest.replace('"manifest_version": 3', '"manifest_version": 4'));
  const token = await gateway.token();
  await expect.poll(async () => {
    const response = await fetch(`${gateway.ready.apiUrl}/api/plugins/hello-python`, { headers: { authorization: `Bearer ${token}` } });
    return ((await response.json()) as { pending_errors?: string[] }).pending_errors ?? [];
  }).toEqual([expect.stringMatching(/^manifest_version: /)]);
  expect(gateway.log()).toMatch(/Plugin "hello-python" edit is broken \(manifest_version: .*\); keeping the last good version running/);
  await page.reload();
  await expect.poll(() => answeredBadge(page, 'hello-python')).toBe('normal Hello Python: 4242 words (edited script)');

  // Fixed again: the error clears and the plugin carries on.
  await writeFile(manifestFile, manifest);
  await expect.poll(async () => {
    const response = await fetch(`${gateway.ready.apiUrl}/api/plugins/hello-python`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await response.json()) as { status: string; pending_errors?: string[] };
    return `${body.status}:${body.pending_errors?.length ?? 0}`;
  }).toBe('enabled:0');
  await page.reload();
  await expect.poll(() => answeredBadge(page, 'hello-python')).toBe('normal Hello Python: 4242 words (edited script)');
});
