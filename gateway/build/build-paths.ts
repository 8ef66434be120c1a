import { fileURLToPath } from 'node:url';

/** Where the build reads and writes, as absolute paths (the build may run from any directory). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SOURCE_DIR = fileURLToPath(new URL('../src/', import.meta.url));
/** The compiled gateway: what `npm start`, the `aiplugs` bin and the package exports run. */
export const DIST_DIR = fileURLToPath(new URL('../dist/', import.meta.url));
/** Written last by a complete build: the digest of the sources it was built from. */
export const STAMP_FILE = fileURLToPath(new URL('../dist/build-stamp.json', import.meta.url));
