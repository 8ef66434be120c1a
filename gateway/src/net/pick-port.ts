import getPort, { portNumbers } from 'get-port';

export const LOOPBACK = '127.0.0.1';

/**
 * Chooses a listening port: an explicit port is used as given (0 = any free one), otherwise the
 * first free port of the range on 127.0.0.1. get-port probes by binding, which skips ports taken
 * by other programs as well as our own.
 */
export async function pickPort(explicit: number | null, range: readonly [number, number]): Promise<number> {
  if (explicit !== null && explicit !== 0) return explicit;
  if (explicit === 0) return getPort({ host: LOOPBACK });
  const port = await getPort({ host: LOOPBACK, port: portNumbers(range[0], range[1]) });
  if (port < range[0] || port > range[1]) {
    throw new Error(`No free port in ${range[0]}-${range[1]} on ${LOOPBACK}; choose one with a flag or a config setting`);
  }
  return port;
}
