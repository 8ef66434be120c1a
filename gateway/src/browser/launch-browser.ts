import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readlink, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { chromiumArgs, type BrowserArgsOptions } from './browser-args.js';
import { devtoolsPipe, openFirstPage, type DevtoolsPipe } from './devtools-pipe.js';

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
  /** True when the profile is thrown away on close. */
  temporary: boolean;
  args: string[];
  /** Resolves once the browser has exited and (a temporary) profile is deleted. */
  closed: Promise<BrowserExit>;
  /** Ends the browser (its whole process group) and deletes a temporary profile. */
  close(): Promise<void>;
}

export interface LaunchBrowserOptions extends Omit<BrowserArgsOptions, 'profileDir'> {
  executable: string;
  /** A profile kept across launches (created if missing); default: a temporary one, deleted on close. */
  profileDir?: string | undefined;
  /** Where its stderr goes as it comes (the Debian wrapper prints noise there); only its end is kept by default. */
  onOutput?: (text: string) => void;
  /** Runs over the browser's DevTools pipe once it is up, before the first page opens (with `url` only); a failure is said on stderr. */
  beforeFirstPage?: (pipe: DevtoolsPipe) => Promise<void>;
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

export class ProfileInUseError extends Error {
  override name = 'ProfileInUseError';
}

/**
 * The pid of a live browser holding a profile, from Chromium's own lock (`SingletonLock`, a
 * symlink to `<host>-<pid>`), or null. A second Chromium on a held profile would hand its URL to
 * the first and exit at once, which looks like a browser that closed by itself.
 */
export async function profileHolder(profileDir: string): Promise<number | null> {
  const target = await readlink(join(profileDir, 'SingletonLock')).catch(() => null);
  const match = target ? /^(.*)-(\d+)$/.exec(target) : null;
  if (!match || match[1] !== hostname()) return null;
  const pid = Number(match[2]);
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    // EPERM: alive, but another user's.
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}

/**
 * Starts a browser wired to the gateway, in a kept profile or a fresh temporary one, and cleans up
 * after it: when the browser exits (window closed) or `close()` is called, every process it
 * started is ended and a temporary profile folder is removed.
 */
export async function launchBrowser(options: LaunchBrowserOptions): Promise<LaunchedBrowser> {
  const temporary = !options.profileDir;
  if (options.profileDir) {
    const holder = await profileHolder(options.profileDir);
    if (holder !== null) throw new ProfileInUseError(`The profile ${options.profileDir} is already open in another browser (pid ${holder}): close that one, or pick another with --profile <name> (or --temp-profile).`);
    await mkdir(options.profileDir, { recursive: true });
  }
  const profileDir = options.profileDir ?? (await mkdtemp(join(tmpdir(), 'aiplugs-browser-')));
  const removeProfile = () => (temporary ? rm(profileDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }) : Promise.resolve());
  // The first page is opened once the browser is up (see openFirstPage), never named on its
  // command line: every local user can read that (/proc/<pid>/cmdline), and the first page is
  // often the dashboard's one-time login link.
  const viaPipe = options.url !== undefined;
  const args = chromiumArgs({ ...options, profileDir, ...(viaPipe ? { url: 'about:blank' } : {}) });
  if (viaPipe) args.splice(args.length - 1, 0, '--remote-debugging-pipe');
  const child = spawn(options.executable, args, { detached: process.platform !== 'win32', stdio: viaPipe ? ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'ignore', 'pipe'] });
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
    await removeProfile();
    throw new Error(`Could not start ${options.executable}: ${(error as Error).message}`);
  }
  const pid = child.pid!;
  let requested = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const outputEnded = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const closed = exited.then(async (): Promise<BrowserExit> => {
    // The main process is gone; make sure no helper outlives it (helpers share its stderr, so
    // that also lets the last of it be read), then delete a temporary profile.
    signalGroup(pid, 'SIGKILL');
    await Promise.race([outputEnded, sleep(2000)]);
    await removeProfile();
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
  if (viaPipe) {
    const pipe = devtoolsPipe(child.stdio[3] as Writable, child.stdio[4] as Readable);
    const say = (what: string) => (error: unknown) => {
      const note = `aiplugs: ${what}: ${(error as Error).message}\n`;
      output = (output + note).slice(-OUTPUT_TAIL_CHARS);
      options.onOutput?.(note);
    };
    // A browser that fails to start ends these waits; a failure is said on stderr, and a first page that did not open leaves the blank tab.
    if (options.beforeFirstPage) await Promise.race([options.beforeFirstPage(pipe), exited]).catch(say('could not pair the extension'));
    await Promise.race([openFirstPage(pipe, options.url!), exited]).catch(say(`could not open ${options.url}`));
  }
  return { pid, profileDir, temporary, args, closed, close };
}
