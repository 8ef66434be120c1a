import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromiumArgs, type BrowserArgsOptions } from './browser-args.js';

/** How the browser ended. */
export interface BrowserExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when `close()` ended it (not the user closing it, nor the browser failing). */
  requested: boolean;
  /** The end of what it wrote to stderr (its own error, when it failed). */
  output: string;
}

export interface LaunchedBrowser {
  pid: number;
  profileDir: string;
  args: string[];
  /** Resolves once the browser has exited and its profile is deleted. */
  closed: Promise<BrowserExit>;
  /** Ends the browser (its whole process group) and deletes the profile. */
  close(): Promise<void>;
}

export interface LaunchBrowserOptions extends Omit<BrowserArgsOptions, 'profileDir'> {
  executable: string;
  /** Where its stderr goes as it comes (the Debian wrapper prints noise there); only its end is kept by default. */
  onOutput?: (text: string) => void;
}

/** How much of the browser's stderr is kept to explain a failure. */
const OUTPUT_TAIL_CHARS = 4096;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    // A detached child leads its own process group: -pid reaches its zygote and renderers too.
    process.kill(process.platform === 'win32' ? pid : -pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a browser in a fresh temporary profile wired to the gateway, and cleans up after it:
 * when the browser exits (window closed) or `close()` is called, every process it started is
 * ended and the profile folder is removed.
 */
export async function launchBrowser(options: LaunchBrowserOptions): Promise<LaunchedBrowser> {
  const profileDir = await mkdtemp(join(tmpdir(), 'aiplugs-browser-'));
  const args = chromiumArgs({ ...options, profileDir });
  const child = spawn(options.executable, args, { detached: process.platform !== 'win32', stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    options.onOutput?.(text);
    output = (output + text).slice(-OUTPUT_TAIL_CHARS);
  });
  const started = new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', (error) => reject(error));
  });
  try {
    await started;
  } catch (error) {
    await rm(profileDir, { recursive: true, force: true });
    throw new Error(`Could not start ${options.executable}: ${(error as Error).message}`);
  }
  const pid = child.pid!;
  let requested = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const outputEnded = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const closed = exited.then(async (): Promise<BrowserExit> => {
    // The main process is gone; make sure no helper outlives it (helpers share its stderr, so
    // that also lets the last of it be read), then delete the profile.
    signalGroup(pid, 'SIGKILL');
    await Promise.race([outputEnded, sleep(2000)]);
    await rm(profileDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    return { code: child.exitCode, signal: child.signalCode, requested, output };
  });
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      requested = true;
      signalGroup(pid, 'SIGTERM');
      const timedOut = await Promise.race([exited.then(() => false), sleep(5000).then(() => true)]);
      if (timedOut) signalGroup(pid, 'SIGKILL');
    }
    await closed;
  };
  return { pid, profileDir, args, closed, close };
}
