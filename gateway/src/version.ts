import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The package version, read once: shown by `--version`, the health route and the page runtime. */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The repository root, where the embedded defaults (`plugins/`, `models/`, `config/`) live. */
export const PACKAGE_ROOT = new URL('../../', import.meta.url);

/** A path inside the repository (the embedded defaults: `plugins/`, `models/`). */
export const repoPath = (name: string): string => fileURLToPath(new URL(name, PACKAGE_ROOT));
