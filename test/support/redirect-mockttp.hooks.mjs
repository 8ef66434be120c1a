// Module resolve hook: `mockttp` (and `mockttp/…`) → the copy named at registration (see redirect-mockttp.register.mjs).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

let dir = null;

export function initialize(data) {
  dir = data;
}

export async function resolve(specifier, context, nextResolve) {
  if (dir && specifier === 'mockttp') return { url: pathToFileURL(join(dir, 'dist', 'main.js')).href, format: 'commonjs', shortCircuit: true };
  // Deep imports (`mockttp/dist/util/socket-util`) too, so a test of one patched module sees the copy.
  if (dir && specifier.startsWith('mockttp/')) {
    const file = specifier.slice('mockttp/'.length);
    return { url: pathToFileURL(join(dir, file.endsWith('.js') ? file : `${file}.js`)).href, format: 'commonjs', shortCircuit: true };
  }
  return nextResolve(specifier, context);
}
