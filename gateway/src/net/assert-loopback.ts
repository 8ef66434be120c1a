import { BlockList, isIP } from 'node:net';
import { z } from 'zod';

/** What `server.address()` returns for a TCP server that is listening. */
const boundAddressSchema = z.object({ address: z.string(), port: z.number().int() });

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');
loopback.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

/** True for 127.0.0.0/8, ::1 and IPv4-mapped 127.x; false for wildcards (0.0.0.0, ::) and everything else. */
export function isLoopbackAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return loopback.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export class LoopbackBindingError extends Error {
  override name = 'LoopbackBindingError';
}

/**
 * Reads back where each server really listens and throws unless every one is on loopback only.
 * The servers were asked for 127.0.0.1, but the proxy's binding depends on our mockttp patch
 * (mockttp itself listens on every interface), so the address asked for proves nothing.
 *
 * @example assertLoopbackListeners({ API: apiServer.address(), proxy: proxy.address() });
 */
export function assertLoopbackListeners(listeners: Record<string, unknown>): void {
  const problems = Object.entries(listeners).flatMap(([name, address]) => {
    const bound = boundAddressSchema.safeParse(address);
    if (!bound.success) return [`the ${name} reports no TCP address (${JSON.stringify(address) ?? 'undefined'})`];
    if (isLoopbackAddress(bound.data.address)) return [];
    return [`the ${name} listens on ${bound.data.address.includes(':') ? `[${bound.data.address}]` : bound.data.address}:${bound.data.port}, reachable from other machines`];
  });
  if (problems.length > 0) {
    throw new LoopbackBindingError(`Refusing to run: ${problems.join('; ')}. AiPlugs must listen on 127.0.0.1 only (is the mockttp patch applied? run \`npm install\`).`);
  }
}
