import { join } from 'node:path';
import { acquireFileLock, type ReleaseLock } from '../models/file-lock.js';
import { isProcessAlive } from '../system-proxy/system-proxy.js';
import { readRuntimeInfo, type RuntimeInfo } from './data-dir.js';
import { findRunningGateway } from './running-gateway.js';

/**
 * One gateway per data dir. Two would share the CA, the token and `runtime.json`: the second
 * overwrote the first's `runtime.json` and removed it when it stopped, leaving a gateway that
 * `status`, `stop` and `doctor` could no longer see.
 *
 * The lock is proper-lockfile's (as for model downloads, models/file-lock.ts): an atomic `mkdir`
 * of `<data dir>/gateway.lock` whose mtime the holder refreshes every `staleMs / 2`. A gateway that
 * is SIGKILLed stops refreshing it, and the next start takes it over once it is `staleMs` old. A
 * pid file would need the holder's pid to be checked, and a pid is reused; Node has no flock.
 */
export const DATA_DIR_LOCK_STALE_MS = 10_000;

/** The data dir already has a gateway (running, starting, or hung): where it is, when known. */
export class GatewayAlreadyRunningError extends Error {
  override name = 'GatewayAlreadyRunningError';
  constructor(
    readonly dataDir: string,
    /** Its `runtime.json`, when it has written one and still answers (`answering`). */
    readonly runtime: RuntimeInfo | null,
    readonly answering: boolean,
  ) {
    super(describeHolder(dataDir, runtime, answering));
  }
}

function describeHolder(dataDir: string, runtime: RuntimeInfo | null, answering: boolean): string {
  if (runtime && answering) {
    return `A gateway is already running for ${dataDir} (pid ${runtime.pid}): API ${runtime.apiUrl}, proxy ${runtime.proxyUrl}. Use it, stop it with \`aiplugs stop\`, or follow it with \`aiplugs start --attach\``;
  }
  if (runtime && isProcessAlive(runtime.pid)) {
    return `Gateway pid ${runtime.pid} holds ${dataDir} but its API ${runtime.apiUrl} does not answer; \`aiplugs stop --force\` ends it`;
  }
  return `Another gateway is starting for ${dataDir} (it holds ${join(dataDir, 'gateway.lock')}); try again when it is up, or use \`aiplugs status\``;
}

export interface DataDirLockOptions {
  /** A lock not refreshed for this long is taken over (its holder was killed). */
  staleMs?: number;
  pollMs?: number;
  /** Said once when the lock is held by a gateway that is not (yet) answering: we wait for it. */
  onWait?: (message: string) => void;
  /** The lock was taken from under us (this process was frozen past `staleMs`). */
  onCompromised: (error: Error) => void;
}

/**
 * Takes the data dir's gateway lock, or throws `GatewayAlreadyRunningError` at once when a
 * gateway answers there. A lock whose holder does not answer is waited for, at most until it
 * would be stale: a killed gateway's lock is then taken over; one that is starting up answers
 * meanwhile (or the wait ends with the error).
 *
 * @example
 *   const release = await lockDataDir(dataDir, { onCompromised: (error) => logger.error(error.message) });
 */
export async function lockDataDir(dataDir: string, options: DataDirLockOptions): Promise<ReleaseLock> {
  const staleMs = options.staleMs ?? DATA_DIR_LOCK_STALE_MS;
  const pollMs = options.pollMs ?? 500;
  const waited = AbortSignal.timeout(staleMs + 4 * pollMs);
  let said = false;
  try {
    return await acquireFileLock(join(dataDir, 'gateway'), {
      staleMs,
      pollMs,
      signal: waited,
      onCompromised: options.onCompromised,
      onWait: async () => {
        const running = await findRunningGateway(dataDir);
        if (running) throw new GatewayAlreadyRunningError(dataDir, running.runtime, true);
        if (!said) {
          said = true;
          options.onWait?.(`${join(dataDir, 'gateway.lock')} is held by a gateway that does not answer (killed, or still starting); waiting up to ${Math.round(staleMs / 1000)} s for it`);
        }
      },
    });
  } catch (error) {
    if (!waited.aborted || error instanceof GatewayAlreadyRunningError) throw error;
    const running = await findRunningGateway(dataDir);
    throw new GatewayAlreadyRunningError(dataDir, running?.runtime ?? (await readRuntimeInfo(dataDir)), running !== null);
  }
}
