import { isMainThread } from 'node:worker_threads';

/** Group and other write: never granted to what the gateway or the CLI creates. */
const WRITE_BY_OTHERS = 0o022;

/**
 * Adds group and other write to the process umask (keeping whatever it already withholds), so
 * nothing the gateway or the CLI creates is writable by other accounts, whatever umask it was
 * started with. Under umask 000 (a service manager's, a container's) the models folder was made
 * 0777 and its models 0666: another account rewrote a model in place, and its verify record, and
 * the gateway kept calling it ready. The umask covers every mkdir and write at once, where explicit
 * modes would have to be remembered at each; the workers and tools the gateway starts inherit it.
 * Files that must be private (token, CA key) still get explicit 0600/0700 modes.
 *
 * @example
 *   restrictUmask(); // umask 000 → 022, 077 stays 077
 */
export function restrictUmask(): void {
  // Worker threads cannot set it (Node throws); they share the main thread's, which sets it.
  if (!isMainThread) return;
  const previous = process.umask(WRITE_BY_OTHERS);
  process.umask(previous | WRITE_BY_OTHERS);
}
