import { fileURLToPath } from 'node:url';

// Every path the gateway reads at run time is resolved from this module, which sits at the top of
// gateway/src (sources, run through tsx) and gateway/dist (the build) alike. The start-up bundle
// (gateway/dist/gateway-cli.js, see gateway/build/cli-bundle.ts) sits at that same level, so the
// paths hold there too, where a module's own `import.meta.url` would not.

/** The repository (or installed package) root, where the embedded defaults (`plugins/`, `models/`, `config/`) live. */
export const PACKAGE_ROOT = new URL('../../', import.meta.url);

/** A path inside the repository (the embedded defaults: `plugins/`, `models/`, `config/`). */
export const repoPath = (name: string): string => fileURLToPath(new URL(name, PACKAGE_ROOT));

/** gateway/src or gateway/dist: the code, and the files it reads at run time beside their modules. */
const CODE_ROOT = new URL('./', import.meta.url);

/** A file shipped beside the code, by its path under gateway/src (e.g. `workers/hosts/node-host.mjs`). */
export const codePath = (name: string): string => fileURLToPath(new URL(name, CODE_ROOT));
