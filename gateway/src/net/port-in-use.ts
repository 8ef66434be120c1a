import { createServer } from 'node:net';
import { LOOPBACK } from './pick-port.js';

/** The listeners a user can pin to a port, with the flag and variable that set it. */
export const LISTENERS = {
  api: { name: 'API', flag: '--api-port', env: 'AIPLUGS_API_PORT' },
  proxy: { name: 'Proxy', flag: '--proxy-port', env: 'AIPLUGS_PROXY_PORT' },
} as const;
export type ListenerName = keyof typeof LISTENERS;

/** How to find who holds a port on each OS, and how to choose another (shared with `doctor`). */
export function portInUseFix(listener: ListenerName, port: number): string {
  const { flag, env } = LISTENERS[listener];
  return `find it with \`ss -ltnp 'sport = :${port}'\` (Linux), \`lsof -iTCP:${port} -sTCP:LISTEN\` (macOS) or \`netstat -ano | findstr :${port}\` (Windows) and stop it, or choose another port: ${flag} N / ${env}=N (0 = any free port)`;
}

/** A configured port another program holds: the gateway cannot start, and says what to do. */
export class PortInUseError extends Error {
  override name = 'PortInUseError';
  constructor(listener: ListenerName, port: number) {
    super(`${LISTENERS[listener].name} port ${port} is already in use by another program. Fix: ${portInUseFix(listener, port)}`);
  }
}

export const isAddressInUse = (error: unknown): boolean => (error as NodeJS.ErrnoException | null)?.code === 'EADDRINUSE';

/** True when this process could listen on 127.0.0.1:port right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: LOOPBACK, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * Fails at once, before the slow parts of start-up, when a port the user pinned is taken
 * (the listen itself still reports it the same way if the port is taken in between).
 */
export async function assertPinnedPortsFree(ports: Partial<Record<ListenerName, number | null>>): Promise<void> {
  for (const [listener, port] of Object.entries(ports) as Array<[ListenerName, number | null | undefined]>) {
    if (port && !(await portIsFree(port))) throw new PortInUseError(listener, port);
  }
}
