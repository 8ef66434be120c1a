// Module resolve hook: `mockttp` → the copy named at registration (see redirect-mockttp.register.mjs).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

let dir = null;

export function initialize(data) {
  dir = data;
}

export async function resolve(specifier, context, nextResolve) {
  if (dir && specifier === 'mockttp') return { url: pathToFileURL(join(dir, 'dist', 'main.js')).href, format: 'commonjs', shortCircuit: true };
  return nextResolve(specifier, context);
}
