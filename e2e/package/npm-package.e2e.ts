// The installable package: `npm pack` → `npm install -g` into an empty prefix → `aiplugs start`,
// then one real page through its proxy in Chromium. The tarball carries our lock as
// npm-shrinkwrap.json (prepack). The install runs against a local registry that serves what our
// lock installs, from the npm cache that the repository's own `npm install` filled. No network.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Browser } from '@playwright/test';
import { launchThroughProxy } from '../support/chromium.js';
import { startLockRegistry, type LockRegistry } from '../support/lock-registry.js';
import { REPO_ROOT, startGatewayProcess, type GatewayChild } from '../support/gateway-process.js';
import { runProcess, type ProcessResult } from '../support/run-process.js';
import { runtimeFromSources, servedRuntime } from '../support/served-runtime.js';
import { respond, startTestSite, type TestSite } from '../support/test-site.js';
import { goto } from '../support/navigate.js';

// Packing, installing ~230 packages and starting a gateway on a busy 2-core machine.
test.describe.configure({ timeout: 300_000 });

/** What the package must carry for `aiplugs start`, the plugins, the authoring tools and `aiplugs/playwright`. */
const REQUIRED_FILES = [
  'package.json',
  'npm-shrinkwrap.json',
  'gateway/bin/aiplugs.js',
  'gateway/dist/gateway-cli.js',
  'gateway/dist/gateway-launcher.js',
  'gateway/dist/cli/main.js',
  'gateway/dist/cli/env-handoff.js',
  'gateway/dist/bundles/page-runtime.js',
  'gateway/dist/bundles/dashboard.js',
  'gateway/dist/dashboard/page/index.html',
  'gateway/dist/dashboard/page/dashboard.css',
  'gateway/dist/workers/hosts/node-host.mjs',
  'gateway/dist/workers/hosts/python-host.py',
  'gateway/dist/authoring/templates/common/content.js.tmpl',
  'gateway/dist/playwright/index.js',
  'gateway/dist/playwright/index.d.ts',
  'config/config.json',
  'plugins/echo/manifest.json',
  'plugins/echo/backend.js',
  'plugins/echo/content.js',
  'schemas/manifest.schema.json',
  'types/aiplugs-page.d.ts',
  'patches/mockttp+4.6.5.patch',
  'extension/.output/chrome-mv3/manifest.json',
];

/** Build-only and test-only packages: none may be installed with the package. */
const DEV_ONLY = ['typescript', '@playwright/test', 'wxt', 'web-ext', 'fast-check', 'parse5', 'undici'];

/** The environment npm runs with as a user runs it: the variables npm sets for the script running this test are left out. */
const NPM_ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')));

function npm(args: string[], cwd: string): Promise<ProcessResult> {
  return runProcess('npm', args, { cwd, env: NPM_ENV });
}

let work: string;
let site: TestSite;
let gateway: GatewayChild | undefined;
let browser: Browser | undefined;
let registry: LockRegistry | undefined;

test.beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'aiplugs-package-'));
  site = await startTestSite({ '/': respond(200, { 'content-type': 'text/html' }, '<!doctype html><html><head><title>Package page</title></head><body><p>hello</p></body></html>') });
});
test.afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  await site?.close();
  await registry?.close();
  await rm(work, { recursive: true, force: true });
});

test('npm pack gives a package that installs into an empty prefix, runs `aiplugs start --json` and injects a page', async () => {
  // The build is fresh (the suite's global setup); --ignore-scripts packs it as it is instead of rebuilding.
  // …so prepack's build is skipped: only its last step, the lock shipped as npm-shrinkwrap.json, is run here.
  expect((await npm(['run', '--silent', 'pack:lock'], REPO_ROOT)).code).toBe(0);
  const pack = await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], REPO_ROOT).finally(() => npm(['run', '--silent', 'postpack'], REPO_ROOT));
  expect(pack.code, pack.stderr).toBe(0);
  const [info] = JSON.parse(pack.stdout) as Array<{ filename: string; version: string; files: Array<{ path: string }> }>;
  const version = (JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  expect(info?.filename).toBe(`aiplugs-${version}.tgz`);
  const files = info!.files.map((file) => file.path);
  expect(REQUIRED_FILES.filter((path) => !files.includes(path)), 'missing from the package (is the extension built? `npm run build:extension`)').toEqual([]);
  expect(files.filter((path) => /\.[cm]?ts$/.test(path) && !path.endsWith('.d.ts')), 'TypeScript sources in the package').toEqual([]);
  expect(files.filter((path) => /(^|\/)(e2e|test|bench|node_modules)\//.test(path) || /\.test\.[cm]?[jt]s$/.test(path)), 'tests in the package').toEqual([]);

  const tarballs = join(work, 'registry');
  await mkdir(tarballs);
  registry = await startLockRegistry(REPO_ROOT, tarballs, NPM_ENV);
  const prefix = join(work, 'prefix');
  // Its own npm cache: what it fetched from the local registry stays out of the user's.
  const install = await npm(['install', '--global', '--prefix', prefix, '--registry', registry.url, '--cache', join(work, 'npm-cache'), '--no-audit', '--no-fund', join(work, info!.filename)], work);
  expect(install.code, install.stderr).toBe(0);
  expect(registry.asked.has('mockttp'), 'the install resolved through the local registry').toBe(true);
  const installed = join(prefix, 'lib/node_modules/aiplugs');
  expect(DEV_ONLY.filter((name) => existsSync(join(installed, 'node_modules', name))), 'dev dependencies installed with the package').toEqual([]);
  // Compiled JavaScript runs with no TypeScript loader: take tsx away (only .ts plugin backends load it).
  await rm(join(installed, 'node_modules/tsx'), { recursive: true, force: true });

  // Started by its installed bin, from an unrelated folder: nothing of this repository can leak in.
  gateway = await startGatewayProcess({ cli: join(prefix, 'bin/aiplugs'), cwd: work, env: { AIPLUGS_MODELS_DIR: join(work, 'models') } });
  expect(gateway.ready).toMatchObject({ event: 'ready', apiUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), proxyUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
  expect(gateway.log()).toContain(`from ${join(installed, 'plugins')}`);

  browser = await launchThroughProxy(gateway.ready.proxyUrl, gateway.ready.caSpki);
  const page = await browser.newPage();
  await goto(page, `${site.origin}/`);
  // The echo example's content script called its Node backend (the package's worker host) through the bridge.
  await expect(page.locator('html')).toHaveAttribute('data-aiplugs-echo', /Package page/, { timeout: 30_000 });
  const runtime = await page.evaluate(() => (window as unknown as { AiPlugs: { plugins: string[]; runtime: string } }).AiPlugs);
  expect(runtime.runtime).toBe(version);
  expect(runtime.plugins).toContain('echo');

  // The runtime it injects is the one these sources build.
  expect((await servedRuntime(gateway.ready, `${site.origin}/`)).startsWith(`${await runtimeFromSources()}({"version":`)).toBe(true);

  expect(await gateway.stop()).toBe(0);

  // The page types ship and resolve by the package's name, for TypeScript content scripts.
  const consumer = join(work, 'consumer');
  await mkdir(join(consumer, 'node_modules'), { recursive: true });
  await symlink(installed, join(consumer, 'node_modules/aiplugs'), 'dir');
  await writeFile(join(consumer, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', lib: ['ES2022', 'DOM'], types: [] }, include: ['content.ts'] }));
  await writeFile(
    join(consumer, 'content.ts'),
    [
      '/// <reference types="aiplugs/page" />',
      "void window.AiPlugs.infer<{ echo: { title: string } }>('echo', { title: document.title }).then((answer) => answer.echo.title.toUpperCase());",
      'window.AiPlugs.onNavigate(({ from, to, kind }) => console.log(from, to, kind));',
      'export {};',
    ].join('\n'),
  );
  const typecheck = await runProcess(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', consumer], { cwd: consumer });
  expect(typecheck.code, typecheck.stdout + typecheck.stderr).toBe(0);
});
