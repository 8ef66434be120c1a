import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';

/**
 * Why proper-lockfile: Node has no flock, and a lock for downloads must survive its holder being
 * `kill -9`ed. proper-lockfile takes the lock with an atomic `mkdir`, keeps its mtime fresh while
 * the holder lives, and lets anyone take over a lock whose mtime is older than `stale` — exactly
 * "a lock that survives a crashed holder". It is small, widely used and works on network
 * file systems too, where pid files do not.
 */
export interface FileLockOptions {
  /** A lock not refreshed for this long belongs to a dead process and is taken over (min 2000). */
  staleMs: number;
  /** How often to try again while another live process holds the lock. */
  pollMs: number;
  signal?: AbortSignal | undefined;
  /** Called between attempts while someone else holds the lock (to report their progress). */
  onWait?: () => void | Promise<void>;
  /** Called if the lock is lost while held (the process was frozen past `staleMs`, say). */
  onCompromised: (error: Error) => void;
}

/** Releases a lock; safe to call twice. */
export type ReleaseLock = () => Promise<void>;

/** The lock folder for a target file: `<target>.lock`, a name manifests may not use. */
export const lockPathFor = (target: string): string => `${target}.lock`;

/**
 * Takes the cross-process lock for `target`, waiting while a live process holds it and taking it
 * over once its holder has stopped refreshing it.
 *
 * @example
 *   const release = await acquireFileLock('/models/m.gguf', { staleMs: 10_000, pollMs: 500, onCompromised: abort });
 *   try { … } finally { await release(); }
 */
export async function acquireFileLock(target: string, options: FileLockOptions): Promise<ReleaseLock> {
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const release = await lockfile.lock(target, {
        realpath: false,
        lockfilePath: lockPathFor(target),
        stale: options.staleMs,
        retries: 0,
        onCompromised: options.onCompromised,
      });
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        // Already gone (compromised, or removed by hand): nothing left to release.
        await release().catch(() => undefined);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
    }
    await options.onWait?.();
    await sleep(options.pollMs, undefined, options.signal ? { signal: options.signal } : {});
  }
}

/** True while a live process (this one included) holds the lock for `target`. */
export async function isFileLocked(target: string, staleMs: number): Promise<boolean> {
  try {
    return await lockfile.check(target, { realpath: false, lockfilePath: lockPathFor(target), stale: staleMs });
  } catch {
    return false;
  }
}
