import { build, type BuildOptions } from 'esbuild';
import { join } from 'node:path';
import { REPO_ROOT, SOURCE_DIR } from './build-paths.js';

/**
 * The gateway's browser code, bundled by esbuild: each bundle is one file the gateway serves.
 * The same options build the files (`npm run build`) and the in-memory copy a test compares the
 * served runtime against.
 */
const COMMON: BuildOptions = {
  bundle: true,
  write: false,
  platform: 'browser',
  // Pages: the runtime is spliced into documents of any charset, so only ASCII leaves the build.
  charset: 'ascii',
  legalComments: 'none',
  absWorkingDir: REPO_ROOT,
  logLevel: 'silent',
};

export interface BrowserBundle {
  /** The file name under gateway/dist/bundles/. */
  file: string;
  options: BuildOptions;
}

export const BROWSER_BUNDLES: readonly BrowserBundle[] = [
  {
    // One IIFE; the gateway wraps it in a function of the page's config (runtime/page-runtime.ts).
    // Minified: every page a user opens downloads and parses it (64 KB → 33 KB, 12 KB gzipped).
    file: 'page-runtime.js',
    options: { ...COMMON, entryPoints: [join(SOURCE_DIR, 'runtime/page/entry.ts')], format: 'iife', target: 'es2020', minify: true },
  },
  {
    // An ES module, as the dashboard page loads it (`<script type="module">`).
    file: 'dashboard.js',
    options: { ...COMMON, entryPoints: [join(SOURCE_DIR, 'dashboard/page/main.ts')], format: 'esm', target: 'es2022' },
  },
];

/** Bundles one of BROWSER_BUNDLES in memory and returns its code. */
export async function bundleText(bundle: BrowserBundle): Promise<string> {
  const result = await build(bundle.options);
  const [output] = result.outputFiles ?? [];
  if (!output || result.outputFiles?.length !== 1) throw new Error(`${bundle.file}: esbuild gave ${result.outputFiles?.length ?? 0} files, expected 1`);
  return output.text;
}

export function browserBundle(file: string): BrowserBundle {
  const bundle = BROWSER_BUNDLES.find((candidate) => candidate.file === file);
  if (!bundle) throw new Error(`No browser bundle named ${file}`);
  return bundle;
}
