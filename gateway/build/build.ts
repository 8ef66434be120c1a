// `npm run build`: compiles the gateway into gateway/dist/ — tsc for the Node code (JavaScript and
// .d.ts, same folders as gateway/src/), esbuild for the one-file gateway the CLI runs
// (gateway/dist/gateway-cli.js) and for the browser code (gateway/dist/bundles/), and
// the files the gateway reads at run time copied beside the modules that read them. Skips the work
// when gateway/dist was built from the sources as they are now (`--force` builds anyway).
import { spawnSync } from 'node:child_process';
import { cp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { wrapPageRuntime } from '../src/runtime/runtime-source.js';
import { BROWSER_BUNDLES, bundleText } from './browser-bundles.js';
import { bundleCli } from './cli-bundle.js';
import { DIST_DIR, REPO_ROOT, SOURCE_DIR } from './build-paths.js';
import { builtDigest, sourceDigest } from './build-stamp.js';

/** Files under gateway/src that the compiled gateway reads at run time (tsc copies only code). */
const RUNTIME_FILES = ['authoring/templates', 'workers/hosts', 'dashboard/page/index.html', 'dashboard/page/dashboard.css'];

/** Built beside gateway/dist and swapped in whole, so a failed build never leaves a half-built one. */
const STAGING_DIR = join(REPO_ROOT, 'gateway/.dist-staging');

function compileGateway(outDir: string): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(REPO_ROOT, 'tsconfig.build.json'), '--outDir', outDir], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`tsc failed (exit ${result.status ?? result.signal})`);
}

async function bundleBrowserCode(outDir: string): Promise<void> {
  await mkdir(join(outDir, 'bundles'), { recursive: true });
  for (const bundle of BROWSER_BUNDLES) {
    const text = await bundleText(bundle);
    if (bundle.file === 'page-runtime.js') wrapPageRuntime(text); // throws if it could not be spliced into a page
    await writeFile(join(outDir, 'bundles', bundle.file), text);
  }
}

async function copyRuntimeFiles(outDir: string): Promise<void> {
  for (const path of RUNTIME_FILES) await cp(join(SOURCE_DIR, path), join(outDir, path), { recursive: true });
}

/** Builds gateway/dist; returns false when it was already up to date. */
export async function buildGateway(options: { force?: boolean } = {}): Promise<boolean> {
  const digest = await sourceDigest();
  if (!options.force && (await builtDigest()) === digest) return false;
  await rm(STAGING_DIR, { recursive: true, force: true });
  compileGateway(STAGING_DIR);
  await bundleCli(STAGING_DIR);
  await bundleBrowserCode(STAGING_DIR);
  await copyRuntimeFiles(STAGING_DIR);
  // Last: only a complete build carries a stamp.
  await writeFile(join(STAGING_DIR, 'build-stamp.json'), `${JSON.stringify({ sources: digest }, null, 2)}\n`);
  await rm(DIST_DIR, { recursive: true, force: true });
  await rename(STAGING_DIR, DIST_DIR);
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const started = Date.now();
  try {
    const built = await buildGateway({ force: process.argv.includes('--force') });
    console.error(built ? `Built gateway/dist in ${((Date.now() - started) / 1000).toFixed(1)} s.` : 'gateway/dist is up to date with the sources.');
  } catch (error) {
    console.error(`Build failed: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
