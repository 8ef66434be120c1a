// Module resolve hook: `mockttp` → the copy named by AIPLUGS_TEST_MOCKTTP_DIR (see unpatched-mockttp.ts).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.env.AIPLUGS_TEST_MOCKTTP_DIR;

export async function resolve(specifier, context, nextResolve) {
  if (dir && specifier === 'mockttp') return { url: pathToFileURL(join(dir, 'dist', 'main.js')).href, format: 'commonjs', shortCircuit: true };
  return nextResolve(specifier, context);
}
