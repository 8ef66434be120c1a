import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { expect, test } from '@playwright/test';
import { loopbackChromium } from '../support/chromium.js';
import { CLI, REPO_ROOT, startGatewayProcess } from '../support/gateway-process.js';
import { respond, startTestSite, type TestSite } from '../support/test-site.js';
import { processesMentioning } from './run-cli.js';

// Every test spawns real Node and Chromium processes; a busy 2-core machine needs more than the default minute.
test.describe.configure({ timeout: 120_000 });

test.skip(process.platform !== 'linux', 'process checks read /proc');

interface Started {
  event: string;
  pid: number;
  profileDir: string;
  gatewayAttached: boolean;
  proxyUrl: string;
}

let site: TestSite;
/** Every CLI child, so a failed test still ends them (SIGTERM makes the CLI close its browser). */
const launched: Array<ReturnType<typeof spawn>> = [];

test.beforeAll(async () => {
  site = await startTestSite({ '/': respond(200, { 'content-type': 'text/html' }, '<!doctype html><title>Launched</title><p>hi</p>') });
});
test.afterAll(async () => {
  for (const child of launched) if (child.exitCode === null) child.kill('SIGTERM');
  await site?.close();
});

/** `aiplugs browser --headless --json [URL]`, until its started line. */
async function launch(dataDir: string, url: string | null, extra: string[] = []) {
  const child = spawn(process.execPath, [CLI, 'browser', '--headless', '--json', '--temp-profile', ...extra, '--data-dir', dataDir, ...(url === null ? [] : [url])], {
    cwd: REPO_ROOT,
    env: { ...process.env, AIPLUGS_BROWSER: loopbackChromium(), AIPLUGS_PROXY_TRUSTED_TEST_HOSTS: 'localhost', AIPLUGS_API_PORT: '0', AIPLUGS_PROXY_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout });
  const events: Started[] = [];
  lines.on('line', (line) => events.push(JSON.parse(line) as Started));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  launched.push(child);
  await expect.poll(() => events.length, { timeout: 30_000, message: stderr }).toBeGreaterThan(0);
  return { child, started: events[0]!, events, exited, stderr: () => stderr };
}

async function expectCleanExit(run: Awaited<ReturnType<typeof launch>>) {
  run.child.kill('SIGTERM');
  expect(await run.exited).toBe(0);
  expect(run.events.at(-1)?.event).toBe('browser-closed');
  expect(existsSync(run.started.profileDir)).toBe(false);
  expect(await processesMentioning(run.started.profileDir)).toEqual([]);
}

test('attached to a running gateway: the page loads through the proxy (CA by SPKI), and stop leaves no process or profile', async () => {
  const gateway = await startGatewayProcess();
  try {
    // Without the extension: this test is about the proxy and the SPKI flag (see docs/CLI.md on the extension).
    const run = await launch(gateway.dataDir, `${site.origin}/`, ['--no-extension']);
    expect(run.started).toMatchObject({ event: 'browser-started', gatewayAttached: true, proxyUrl: gateway.ready.proxyUrl });
    expect(existsSync(run.started.profileDir)).toBe(true);
    expect((await processesMentioning(run.started.profileDir)).length).toBeGreaterThan(0);
    // The site only sees the request if Chromium accepted the gateway's certificate.
    await expect.poll(() => site.requests.filter((request) => request.path === '/').length, { timeout: 30_000 }).toBeGreaterThan(0);
    await expectCleanExit(run);
    expect(gateway.child.exitCode).toBeNull();
  } finally {
    await gateway.stop();
  }
});

test("the dashboard's one-time login link never sits on the browser's command line, which every local user can read", async () => {
  const gateway = await startGatewayProcess();
  try {
    // No URL: the dashboard, signed in. Without the extension the link went on Chromium's argv,
    // where another account polling /proc could redeem it first and read the token.
    const run = await launch(gateway.dataDir, null, ['--no-extension']);
    await expect.poll(() => gateway.log(), { timeout: 30_000 }).toContain('Dashboard: signed in with a one-time link');
    expect(await processesMentioning('login?code=')).toEqual([]);
    expect(JSON.stringify(run.started)).not.toContain('code=');
    await expectCleanExit(run);
  } finally {
    await gateway.stop();
  }
});

test('with no gateway running it starts one for the browser (and the built extension) and stops it with the browser', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-browser-e2e-'));
  try {
    const run = await launch(dataDir, `${site.origin}/`);
    expect(run.started.gatewayAttached).toBe(false);
    expect(existsSync(join(dataDir, 'runtime.json'))).toBe(true);
    await expectCleanExit(run);
    expect(existsSync(join(dataDir, 'runtime.json'))).toBe(false);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a browser that cannot start (no display) makes the command exit 1 with its own error and a hint, and stops the gateway it started', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-browser-nodisplay-'));
  const env: NodeJS.ProcessEnv = { ...process.env, AIPLUGS_BROWSER: loopbackChromium(), AIPLUGS_API_PORT: '0', AIPLUGS_PROXY_PORT: '0' };
  delete env.DISPLAY;
  delete env.WAYLAND_DISPLAY;
  try {
    // Not headless, and nowhere to draw a window.
    const child = spawn(process.execPath, [CLI, 'browser', '--no-extension', '--temp-profile', '--data-dir', dataDir, `${site.origin}/`], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    launched.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, stderr).toBe(1);
    expect(stderr).toMatch(/aiplugs: \S*chromium exited with code \d+ before it was closed; it said:\n/i);
    expect(stderr).toContain('Missing X server or $DISPLAY');
    expect(stderr).toContain('pass --headless');
    expect(stdout).not.toContain('Browser closed');
    expect(existsSync(join(dataDir, 'runtime.json'))).toBe(false);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
