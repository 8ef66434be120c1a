import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DIST_DIR, REPO_ROOT } from './build-paths.js';
import { assertNoModuleDirectories, CHUNK_PREFIX, CLI_BUNDLE_FILE, escapeNonAscii, LAUNCHER_BUNDLE_FILE } from './cli-bundle.js';

describe('the one-file gateway bundle', () => {
  it('refuses a bundled package that looks for files beside itself, and names it', () => {
    const code = ['// node_modules/fine/index.js', '// __dirname in a comment is fine', ' * or __filename in a doc comment', '// node_modules/wasm-thing/load.js', 'var bytes = readFileSync(join(__dirname, "x.wasm"));'].join('\n');
    assert.throws(() => assertNoModuleDirectories(code), /node_modules\/wasm-thing\/load\.js uses __dirname\/__filename/);
    assert.doesNotThrow(() => assertNoModuleDirectories(code.split('\n').slice(0, 3).join('\n')));
  });

  it('lets the launcher start without zod: it spawns the gateway before loading what only the gateway needs', async () => {
    // The files an entry loads before it runs: itself and the chunks it imports statically, transitively.
    const staticGraph = async (file: string, seen = new Set<string>()): Promise<Set<string>> => {
      if (seen.has(file)) return seen;
      seen.add(file);
      const code = await readFile(join(DIST_DIR, file), 'utf8');
      for (const [, chunk] of code.matchAll(/^(?:import|export)\b[^;]*?["']\.\/(gateway-chunk-[\w-]+\.js)["']/gms)) await staticGraph(chunk!, seen);
      return seen;
    };
    const holdsZod = async (files: Set<string>) => (await Promise.all([...files].map((file) => readFile(join(DIST_DIR, file), 'utf8')))).some((code) => code.includes('// node_modules/zod/'));
    assert.equal(await holdsZod(await staticGraph(CLI_BUNDLE_FILE)), true, 'the gateway loads zod up front');
    assert.equal(await holdsZod(await staticGraph(LAUNCHER_BUNDLE_FILE)), false, 'the launcher loads zod before it spawns the gateway');
  });

  it('is built, and runs the CLI with nothing else of gateway/dist beside it', async () => {
    const bundle = join(DIST_DIR, CLI_BUNDLE_FILE);
    assert.ok(existsSync(bundle), `${bundle} is missing: run \`npm run build\``);
    // A package with only the bundles (and the browser bundles, data it serves) in gateway/dist: any
    // gateway module it still imported from gateway/dist would be missing here.
    const root = await mkdtemp(join(tmpdir(), 'aiplugs-bundle-'));
    try {
      await mkdir(join(root, 'gateway/dist'), { recursive: true });
      for (const file of await readdir(DIST_DIR)) {
        if (file === CLI_BUNDLE_FILE || file === LAUNCHER_BUNDLE_FILE || file.startsWith(CHUNK_PREFIX)) await copyFile(join(DIST_DIR, file), join(root, 'gateway/dist', file));
      }
      await cp(join(DIST_DIR, 'bundles'), join(root, 'gateway/dist/bundles'), { recursive: true });
      await copyFile(join(REPO_ROOT, 'package.json'), join(root, 'package.json'));
      await symlink(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
      const bundled = (file: string) => JSON.stringify(join(root, 'gateway/dist', file));
      const probe = `const { withScrubbedEnvironment } = await import(${bundled(LAUNCHER_BUNDLE_FILE)});
const argv = ['node', 'aiplugs', ...process.argv.slice(1)];
await withScrubbedEnvironment(argv, async () => (await import(${bundled(CLI_BUNDLE_FILE)})).main(argv));`;
      for (const args of [['--version'], ['plugins', '--help'], ['doctor', '--help']]) {
        const run = spawnSync(process.execPath, ['--input-type=module', '-e', probe, ...args], { encoding: 'utf8', cwd: root });
        assert.equal(run.status, 0, `aiplugs ${args.join(' ')}: ${run.stderr}`);
        assert.ok(run.stdout.length > 0, `aiplugs ${args.join(' ')} printed nothing`);
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('the bundle as ASCII', () => {
  it('escapes what esbuild leaves in comments and regular expressions, with the same meaning', () => {
    const source = "const TOKEN = /[\\p{L}'’]+|😀/gu; // 64–71 …\nconst PLAIN = /[é]/;";
    const escaped = escapeNonAscii(source);
    assert.match(escaped, /^[\x00-\x7f]*$/);
    // The escaped source must compile to the same expressions.
    const evaluate = (code: string) => new Function(`${code}; return [TOKEN, PLAIN];`)() as [RegExp, RegExp];
    const [token, plain] = evaluate(escaped);
    const [originalToken, originalPlain] = evaluate(source);
    const sample = 'it’s 😀 café ok';
    assert.deepEqual(sample.match(token), ['it’s', '😀', 'café', 'ok']);
    assert.deepEqual(sample.match(token), sample.match(originalToken));
    assert.deepEqual([plain.test('é'), plain.test('e')], [originalPlain.test('é'), originalPlain.test('e')]);
    assert.throws(() => escapeNonAscii('/\\’/'), /after a backslash/);
    // An escaped backslash before it is fine, and so is any backslash in a comment.
    const [backslashOrE] = evaluate(escapeNonAscii('const TOKEN = /[\\\\é]/; // C:\\é\nconst PLAIN = 0;')) as unknown as [RegExp];
    assert.deepEqual(['\\', 'é', 'e'].map((text) => backslashOrE.test(text)), [true, true, false]);
    // Where an escape would change the text (a tagged template's raw strings), the build fails.
    assert.throws(() => escapeNonAscii('const raw = String.raw`é`;'), /non-ASCII character outside a comment or regular expression at offset 23/);
    assert.throws(() => escapeNonAscii('const text = "é";'), /outside a comment/);
  });

  it('is what the build wrote: every bundle file is ASCII', async () => {
    for (const file of (await readdir(DIST_DIR)).filter((name) => name === CLI_BUNDLE_FILE || name === LAUNCHER_BUNDLE_FILE || name.startsWith(CHUNK_PREFIX))) {
      const code = await readFile(join(DIST_DIR, file), 'utf8');
      assert.equal(/[^\x00-\x7f]/.exec(code)?.index, undefined, `${file} has a non-ASCII character`);
    }
  });
});
