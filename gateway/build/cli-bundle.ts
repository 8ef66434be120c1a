import { tokenizer, tokTypes } from 'acorn';
import { build, type Plugin } from 'esbuild';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from './build-paths.js';

/**
 * The gateway as `aiplugs` runs it: the compiled CLI (gateway/dist/cli/main.js) and everything it
 * imports, node_modules included, in one ES module at the top of gateway/dist. Node's module
 * loader — resolving, reading and compiling nearly 1,000 files — was most of the gateway's start-up
 * CPU; one file removes that work (bench/gateway/startup.bench.ts measures both). The rest of
 * gateway/dist stays as tsc wrote it, for `aiplugs/playwright`, the worker hosts and their
 * backends, which run in other processes.
 *
 * The bin first loads the launcher (cli/env-handoff.js), which runs the gateway as a child when
 * secrets are in the environment; what both share is split into chunks loaded once. The launcher
 * imports zod only where a gateway reads its handed-over environment, so a launcher spawns the
 * gateway without loading it.
 * All of it sits at the top of gateway/dist because paths to files shipped beside the code
 * resolve from gateway/src/package-paths.ts, which sits there too.
 */
export const CLI_BUNDLE_FILE = 'gateway-cli.js';
export const LAUNCHER_BUNDLE_FILE = 'gateway-launcher.js';
/** The shared chunks' names: `gateway-chunk-<hash>.js`. */
export const CHUNK_PREFIX = 'gateway-chunk-';

/**
 * Packages loaded from node_modules at run time rather than bundled: they read files beside
 * themselves through `__dirname` (WebAssembly binaries), which a bundle does not have. Both are
 * mockttp's decoders for brotli/zstd bodies in its own body helpers; the gateway decodes with
 * Node's zlib (proxy/body-codec.ts), so they load only if that changes.
 */
const LOADED_AT_RUN_TIME = ['brotli-wasm', 'zstd-codec'];

/**
 * Packages mockttp imports at load time for features the gateway never turns on, replaced by a
 * stub that fails loudly if that ever changes: pac-proxy-agent (upstream proxies from PAC files;
 * the gateway sets no upstream proxy) brings a JavaScript interpreter and parser with it.
 */
const NEVER_USED = ['pac-proxy-agent'];

const neverUsed: Plugin = {
  name: 'never-used',
  setup(builder) {
    const filter = new RegExp(`^(${NEVER_USED.join('|')})$`);
    builder.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'never-used' }));
    builder.onLoad({ filter: /.*/, namespace: 'never-used' }, (args) => ({
      contents: `const unused = () => { throw new Error(${JSON.stringify(`${args.path} is left out of the AiPlugs build (gateway/build/cli-bundle.ts)`)}); };
module.exports = new Proxy({}, { get: (_, key) => (key === '__esModule' ? false : unused) });`,
      loader: 'js',
    }));
  },
};

/** CommonJS code in the bundle still calls `require` for Node's built-ins and the run-time packages. */
const REQUIRE_SHIM = "import { createRequire as __aiplugsCreateRequire } from 'node:module'; const require = __aiplugsCreateRequire(import.meta.url);";

/** Bundles cli/main.js and cli/env-handoff.js (compiled by tsc into `outDir`) into the top of `outDir`. */
export async function bundleCli(outDir: string): Promise<void> {
  const result = await build({
    entryPoints: { [CLI_BUNDLE_FILE.replace(/\.js$/, '')]: join(outDir, 'cli/main.js'), [LAUNCHER_BUNDLE_FILE.replace(/\.js$/, '')]: join(outDir, 'cli/env-handoff.js') },
    outdir: outDir,
    splitting: true,
    chunkNames: `${CHUNK_PREFIX}[hash]`,
    metafile: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    banner: { js: REQUIRE_SHIM },
    external: LOADED_AT_RUN_TIME,
    plugins: [neverUsed],
    legalComments: 'none',
    absWorkingDir: REPO_ROOT,
    logLevel: 'error',
  });
  for (const file of Object.keys(result.metafile.outputs)) {
    const code = escapeNonAscii(await readFile(join(REPO_ROOT, file), 'utf8'));
    assertNoModuleDirectories(code);
    await writeFile(join(REPO_ROOT, file), code);
  }
}

/**
 * The bundle as pure ASCII. Node decodes a source with any other character into a two-byte
 * string: the 3 MB bundle then held ~5 MB more of the gateway's memory for as long as it ran
 * (RSS 100–102 MB against 95–96, 8 starts of each alternating), for 13 characters in comments
 * and one regular expression. esbuild already escapes strings, templates and names (its default
 * `charset`) but leaves comments, regular expressions and tagged templates (whose raw text an
 * escape would change) as written. In a comment any text does; in a regular expression a
 * `\uXXXX` escape per UTF-16 unit means the same, with or without the `u` flag (where an escaped
 * surrogate pair is still one character), unless it follows an escaping backslash. Anything else
 * fails the build, naming where: acorn's tokenizer tells those places apart.
 *
 * @example
 *   escapeNonAscii("/[’]/u; // 64–71"); // → "/[\\u2019]/u; // 64\\u201371"
 */
export function escapeNonAscii(code: string): string {
  const regions: Array<{ start: number; end: number; regexp: boolean }> = [];
  const onComment = (_block: boolean, _text: string, start: number, end: number) => void regions.push({ start, end, regexp: false });
  for (const token of tokenizer(code, { ecmaVersion: 'latest', sourceType: 'module', allowHashBang: true, onComment })) {
    if (token.type === tokTypes.regexp) regions.push({ start: token.start, end: token.end, regexp: true });
  }
  regions.sort((a, b) => a.start - b.start);
  let region = 0;
  return code.replace(/[^\0-\x7f]/g, (unit, offset: number) => {
    while (region < regions.length && regions[region]!.end <= offset) region += 1;
    const where = regions[region];
    if (!where || where.start > offset) throw new Error(`non-ASCII character outside a comment or regular expression at offset ${offset} of the bundle: ${JSON.stringify(code.slice(Math.max(0, offset - 40), offset + 40))}`);
    if (where.regexp && /(^|[^\\])(\\\\)*\\$/.test(code.slice(where.start, offset))) throw new Error(`cannot escape the character after a backslash at offset ${offset} of the bundle`);
    return `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/**
 * A bundled package that used `__dirname`/`__filename` would fail only when that code runs; the
 * build fails now instead, naming the package, which then belongs in LOADED_AT_RUN_TIME.
 */
export function assertNoModuleDirectories(code: string): void {
  let currentModule = '(the gateway)';
  for (const line of code.split('\n')) {
    const marker = /^\/\/ (node_modules\/\S+)/.exec(line);
    if (marker?.[1]) currentModule = marker[1];
    else if (/^\s*(\/\/|\*|\/\*)/.test(line)) continue;
    else if (/\b__(dirname|filename)\b/.test(line)) throw new Error(`${currentModule} uses __dirname/__filename, which the one-file gateway bundle lacks: add its package to LOADED_AT_RUN_TIME in gateway/build/cli-bundle.ts`);
  }
}
