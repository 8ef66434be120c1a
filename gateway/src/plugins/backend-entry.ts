import { extname } from 'node:path';

/** The backends the gateway runs, by the extension of `inference.local_entry`. */
export const NODE_EXTENSIONS: ReadonlySet<string> = new Set(['.js', '.mjs', '.cjs']);
export const TYPESCRIPT_EXTENSIONS: ReadonlySet<string> = new Set(['.ts', '.mts', '.cts']);
export const PYTHON_EXTENSION = '.py';

export const UNRUNNABLE_ENTRY = `not a backend the gateway can run; use a ${[PYTHON_EXTENSION, ...NODE_EXTENSIONS, ...TYPESCRIPT_EXTENSIONS].join(', ').replace(/, ([^,]*)$/, ' or $1')} file`;

/** Whether a `local_entry` names a backend the gateway can run: Python, JavaScript or TypeScript. */
export function isRunnableEntry(localEntry: string): boolean {
  const ext = extname(localEntry).toLowerCase();
  return ext === PYTHON_EXTENSION || NODE_EXTENSIONS.has(ext) || TYPESCRIPT_EXTENSIONS.has(ext);
}
