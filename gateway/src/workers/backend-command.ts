import { existsSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { codePath } from '../package-paths.js';
import { NODE_EXTENSIONS, PYTHON_EXTENSION, TYPESCRIPT_EXTENSIONS, UNRUNNABLE_ENTRY } from '../plugins/backend-entry.js';
import { dataLimitMb } from './worker-limits.js';

export type BackendRuntime = 'python' | 'node';

/** How to start the host for one backend file: the program, its arguments, and which runtime it is. */
export interface BackendCommand {
  runtime: BackendRuntime;
  program: string;
  args: string[];
  entry: string;
}

export const PYTHON_HOST = codePath('workers/hosts/python-host.py');
export const NODE_HOST = codePath('workers/hosts/node-host.mjs');

/** Resolved once, and only for a `.ts` backend: tsx's loader, so those need no build step (the gateway itself runs compiled). */
let tsxLoader: string | null | undefined;
function findTsxLoader(): string | null {
  if (tsxLoader === undefined) {
    try {
      tsxLoader = import.meta.resolve('tsx');
    } catch {
      tsxLoader = null;
    }
  }
  return tsxLoader;
}

/**
 * The Python a plugin runs with: its own virtual environment when it ships one (`.venv/` or
 * `venv/` in the plugin folder, the usual names), else the configured interpreter.
 */
export function pythonFor(pluginDir: string, configured: string): string {
  const candidates = process.platform === 'win32' ? ['.venv/Scripts/python.exe', 'venv/Scripts/python.exe'] : ['.venv/bin/python', 'venv/bin/python'];
  for (const candidate of candidates) {
    const path = join(pluginDir, candidate);
    if (existsSync(path)) return path;
  }
  return configured;
}

export class UnsupportedBackendError extends Error {
  override name = 'UnsupportedBackendError';
}

export interface BackendCommandOptions {
  pluginDir: string;
  localEntry: string;
  /** `workers.python`: the interpreter used when the plugin has no venv. */
  python: string;
  /** The Node binary for Node backends: the gateway's own by default. */
  node?: string;
  concurrency: number;
  /**
   * `workers.max_memory_mb` (0 = no cap). The watchdog enforces it on resident memory; here it only
   * sets the first lines of defence: Node's heap cap, and Python's RLIMIT_DATA backstop.
   */
  maxMemoryMb?: number;
  /** The gateway's pid, so the host can tell when it has been orphaned. */
  parentPid: number;
  inFd: number;
  outFd: number;
}

/**
 * Chooses the host for a backend by its file extension: `.py` → python-host.py, `.js`/`.mjs`/`.cjs`
 * → node-host.mjs, `.ts`/`.mts`/`.cts` → node-host.mjs with tsx's loader.
 *
 * @example
 *   backendCommand({ pluginDir, localEntry: 'backend.py', python: 'python3', concurrency: 1, parentPid: process.pid, inFd: 3, outFd: 4 });
 *   // → { runtime: 'python', program: 'python3', args: ['-u', '…/python-host.py', '--entry', '…/backend.py', …] }
 */
export function backendCommand(options: BackendCommandOptions): BackendCommand {
  const entry = resolve(options.pluginDir, options.localEntry);
  const ext = extname(entry).toLowerCase();
  const hostArgs = ['--entry', entry, '--in-fd', String(options.inFd), '--out-fd', String(options.outFd), '--parent-pid', String(options.parentPid), '--concurrency', String(options.concurrency)];
  const memoryCap = options.maxMemoryMb ?? 0;
  if (ext === PYTHON_EXTENSION) {
    // -u: unbuffered, so a backend's print() reaches the log when it happens, not at exit.
    const pythonArgs = ['-u', PYTHON_HOST, ...hostArgs, ...(memoryCap > 0 ? ['--data-limit-mb', String(dataLimitMb(memoryCap))] : [])];
    return { runtime: 'python', program: pythonFor(options.pluginDir, options.python), args: pythonArgs, entry };
  }
  const node = options.node ?? process.execPath;
  // A plain .js outside any "type": "module" package would be CommonJS and reject `export`;
  // detect-module lets the seed-style ESM backend.js run wherever the plugin folder lives.
  // A heap cap turns a runaway JS heap into a worker crash early; memory outside the heap (Buffers,
  // native addons) is left to the watchdog.
  const nodeFlags = ['--disable-warning=ExperimentalWarning', '--experimental-detect-module', ...(memoryCap > 0 ? [`--max-old-space-size=${memoryCap}`] : [])];
  if (NODE_EXTENSIONS.has(ext)) return { runtime: 'node', program: node, args: [...nodeFlags, NODE_HOST, ...hostArgs], entry };
  if (TYPESCRIPT_EXTENSIONS.has(ext)) {
    const loader = findTsxLoader();
    if (!loader) throw new UnsupportedBackendError(`${options.localEntry}: TypeScript backends need the tsx package, which is not installed`);
    return { runtime: 'node', program: node, args: [...nodeFlags, '--import', loader, NODE_HOST, ...hostArgs], entry };
  }
  throw new UnsupportedBackendError(`${options.localEntry}: ${UNRUNNABLE_ENTRY}`);
}
