/**
 * A copy of the installed mockttp with our patch reversed, for tests that prove a check or a test
 * notices a missing patch. The copy lives under `node_modules/.cache/` so that mockttp's own
 * dependencies still resolve from the repository's `node_modules`.
 *
 * - `unpatchedMockttpDir()` builds it once per patch version (reusing it afterwards).
 * - `withUnpatchedMockttp(env)` returns the environment under which a child Node process imports
 *   that copy for every `import 'mockttp'` (a resolve hook, see redirect-mockttp.hooks.mjs).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MOCKTTP_VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies.mockttp;
export const MOCKTTP_PATCH = join(REPO_ROOT, 'patches', `mockttp+${MOCKTTP_VERSION}.patch`);
const REGISTER_HOOK = new URL('./redirect-mockttp.register.mjs', import.meta.url).href;

export function unpatchedMockttpDir(): string {
  const patch = readFileSync(MOCKTTP_PATCH);
  const id = createHash('sha256').update(patch).digest('hex').slice(0, 12);
  const cacheDir = join(REPO_ROOT, 'node_modules', '.cache', 'aiplugs-test');
  const target = join(cacheDir, `mockttp-unpatched-${id}`, 'mockttp');
  if (existsSync(join(target, 'package.json'))) return target;
  // Built beside the target and renamed into place, so concurrent test files never see half a copy.
  const staging = join(cacheDir, `staging-${process.pid}-${Date.now()}`);
  const installed = join(REPO_ROOT, 'node_modules', 'mockttp');
  try {
    mkdirSync(join(staging, 'mockttp'), { recursive: true });
    cpSync(join(installed, 'dist'), join(staging, 'mockttp', 'dist'), { recursive: true });
    cpSync(join(installed, 'package.json'), join(staging, 'mockttp', 'package.json'));
    // The patch's paths are a/node_modules/mockttp/dist/…: strip three components. The ceiling keeps
    // git from finding the repository around node_modules/.cache (it would then skip every path).
    execFileSync('git', ['apply', '--reverse', '-p3', MOCKTTP_PATCH], {
      cwd: join(staging, 'mockttp'),
      env: { ...process.env, GIT_CEILING_DIRECTORIES: staging },
      stdio: 'pipe',
    });
    const dist = join(staging, 'mockttp', 'dist');
    const leftover = readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((file) => /\.(js|d\.ts)$/.test(file) && readFileSync(join(dist, file), 'utf8').includes('AiPlugs patch'));
    if (leftover.length > 0) throw new Error(`Reversing ${MOCKTTP_PATCH} left patched files: ${leftover.join(', ')}`);
    renameSync(staging, join(target, '..'));
  } catch (error) {
    // Another test process may have won the race: its copy is the same.
    if (!existsSync(join(target, 'package.json'))) throw error;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return target;
}

/** Environment for a child Node process whose `import 'mockttp'` loads the unpatched copy. */
export function withUnpatchedMockttp(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...env,
    NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} --import=${REGISTER_HOOK}?dir=${encodeURIComponent(unpatchedMockttpDir())}`.trim(),
  };
}
