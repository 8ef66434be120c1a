import { readFileSync } from 'node:fs';
import { PACKAGE_ROOT } from './package-paths.js';

/** The package version, read once: shown by `--version`, the health route and the page runtime. */
export const VERSION: string = (JSON.parse(readFileSync(new URL('package.json', PACKAGE_ROOT), 'utf8')) as { version: string }).version;
