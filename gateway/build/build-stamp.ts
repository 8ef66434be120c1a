import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { REPO_ROOT, SOURCE_DIR, STAMP_FILE } from './build-paths.js';

/**
 * Besides gateway/src: the files that decide what the build writes. The dependencies are among
 * them since the CLI bundle carries their code: the lock pins their versions, and patches/ holds
 * our changes to mockttp, which `npm install` applies.
 */
const BUILD_INPUTS = ['tsconfig.json', 'tsconfig.build.json', 'gateway/build', 'package-lock.json', 'patches'];

async function filesUnder(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOTDIR') return null;
    throw error;
  });
  if (!entries) return [path];
  const nested = await Promise.all(entries.map((entry) => (entry.isDirectory() ? filesUnder(join(path, entry.name)) : [join(path, entry.name)])));
  return nested.flat();
}

/** Tests are not built, so editing one never makes the build stale. */
const isBuildInput = (path: string) => !/\.test\.ts$/.test(path);

/**
 * A digest of everything the build is made from (gateway/src without its tests, the tsconfigs,
 * the build's own code, the locked dependencies): equal digests mean an equal build.
 */
export async function sourceDigest(): Promise<string> {
  const roots = [SOURCE_DIR, ...BUILD_INPUTS.map((input) => join(REPO_ROOT, input))];
  const files = (await Promise.all(roots.map(filesUnder))).flat().filter(isBuildInput).sort();
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(relative(REPO_ROOT, file)).update('\0').update(await readFile(file)).update('\0');
  }
  return hash.digest('hex');
}

/** The digest a complete build recorded, or null when there is no complete build. */
export async function builtDigest(): Promise<string | null> {
  try {
    return (JSON.parse(await readFile(STAMP_FILE, 'utf8')) as { sources?: string }).sources ?? null;
  } catch {
    return null;
  }
}

/** Whether gateway/dist was built from the sources as they are now. */
export async function isBuildFresh(): Promise<boolean> {
  const [built, current] = await Promise.all([builtDigest(), sourceDigest()]);
  return built !== null && built === current;
}
