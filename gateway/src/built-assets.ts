import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from './package-paths.js';

/**
 * The browser bundles `npm run build` makes with esbuild (the page runtime, the dashboard script).
 * They exist only in the build output, so the gateway reads them from there both when it runs
 * compiled and when tests run it from its TypeScript sources.
 */
export const BROWSER_BUNDLE_DIR = new URL('gateway/dist/bundles/', PACKAGE_ROOT);

/** One browser bundle's text, read once at start-up; a missing build says how to make it. */
export function readBrowserBundle(file: string): string {
  const url = new URL(file, BROWSER_BUNDLE_DIR);
  try {
    return readFileSync(url, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new Error(`${fileURLToPath(url)} is missing: build the gateway with \`npm run build\``);
  }
}
