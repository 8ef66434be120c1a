/**
 * WebSocket churn: 2 × 10,000 connect → hello → close cycles against the real gateway (CLI child),
 * 100 at a time, half of them reconnecting with the same client id (the zombie-replacement path).
 * Reports the gateway's RSS and open sockets before, right after, and after a settle, to show
 * that nothing leaks. RSS moves with the garbage collector's mood, so the same churn is also run
 * against an in-process connection manager whose heap is measured after a forced GC: that number
 * is the leak detector. Goal: sockets back to the baseline, heap after GC flat.
 *
 * Run: `node --import tsx bench/workers/ws-churn.bench.ts` (BENCH_RECONNECTS, default 10000).
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WebSocket } from 'ws';
import { createConnectionManager } from '../../gateway/src/connections/connection-manager.js';
import { createCapabilityIssuer } from '../../gateway/src/bridge/page-capability.js';
import { attachWebSocketEndpoint } from '../../gateway/src/connections/websocket-endpoint.js';
import { createEventBus } from '../../gateway/src/events/event-bus.js';
import { createLogger } from '../../gateway/src/events/logger.js';
import type { PluginRegistry } from '../../gateway/src/plugins/plugin-registry.js';
import { rssMb, socketCount, startGatewayChild } from './support.js';

const RECONNECTS = Number(process.env.BENCH_RECONNECTS ?? 10_000);
const PARALLEL = 100;

export interface ChurnRow {
  phase: string;
  gatewayRssMb: number | null;
  /** Gateway rows: socket fds of the gateway process; in-process rows: sockets the manager holds. */
  openSockets: number | null;
  /** In-process manager only: heap used after a full GC (server and clients share the process). */
  heapAfterGcMb?: number | null;
  reconnectsPerSec: number | null;
}

/** A forced full GC without needing --expose-gc on the command line. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

async function churn(port: number, query: (clientId: string) => string, rounds: number, each: (round: number, perSecond: number) => Promise<void>) {
  const cycle = async (clientId: string) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?${query(clientId)}`, { perMessageDeflate: false });
    await once(ws, 'message');
    ws.close();
    await once(ws, 'close');
  };
  for (let i = 0; i < 200; i += 1) await cycle(`warm-${i}`);
  await each(0, 0);
  for (let round = 1; round <= rounds; round += 1) {
    let started = 0;
    const begin = performance.now();
    await Promise.all(
      Array.from({ length: PARALLEL }, async (_, lane) => {
        while (started < RECONNECTS) {
          started += 1;
          // Half the lanes reconnect with the same client id (zombie replacement), half with new ones.
          await cycle(lane % 2 === 0 ? `lane-${lane}` : `r${round}-client-${started}`);
        }
      }),
    );
    await each(round, Math.round(RECONNECTS / ((performance.now() - begin) / 1000)));
  }
}

/** The same churn against a connection manager in this process, measuring its heap after GC. */
async function inProcess(): Promise<ChurnRow[]> {
  const rows: ChurnRow[] = [];
  const logger = createLogger({ bus: createEventBus(), level: 'error', write: () => undefined });
  const connections = createConnectionManager({ router: { infer: async () => null }, logger, activeOnSite: () => false });
  const enabled = { id: 'echo', status: 'enabled' } as unknown as ReturnType<PluginRegistry['get']>;
  const registry = { get: (id: string) => (id === 'echo' ? enabled : undefined) } as unknown as PluginRegistry;
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const endpoint = attachWebSocketEndpoint(server, { connections, token: 'bench-token', registry, activeOnSite: () => false, capabilities: createCapabilityIssuer(), bridgeSecret: 'unused-bench-secret-0123456789', apiOrigins: () => [`http://127.0.0.1:${port}`], logger });
  try {
    await churn(port, (clientId) => `plugin_id=echo&client_id=${clientId}&token=bench-token`, 2, async (round, perSecond) => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      collectGarbage();
      rows.push({
        phase: round === 0 ? 'in-process manager: baseline' : `in-process manager: after ${round * RECONNECTS} reconnects`,
        gatewayRssMb: null,
        openSockets: connections.size(),
        heapAfterGcMb: Math.round(process.memoryUsage().heapUsed / 104857.6) / 10,
        reconnectsPerSec: perSecond || null,
      });
    });
  } finally {
    endpoint.close();
    await connections.close();
    server.close();
  }
  return rows;
}

export async function run(): Promise<ChurnRow[]> {
  const gateway = await startGatewayChild();
  const pid = gateway.pid;
  const rows: ChurnRow[] = [];
  try {
    await churn(gateway.apiPort, (clientId) => `plugin_id=node-ops&client_id=${clientId}&token=${gateway.token}`, 2, async (round, perSecond) => {
      if (round === 0) await new Promise((resolve) => setTimeout(resolve, 500));
      rows.push({
        phase: round === 0 ? 'gateway (CLI child): baseline after 200 warm-up reconnects' : `gateway: right after ${round * RECONNECTS} reconnects`,
        gatewayRssMb: await rssMb(pid),
        openSockets: await socketCount(pid),
        reconnectsPerSec: perSecond || null,
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    rows.push({ phase: 'gateway: after a 2 s settle', gatewayRssMb: await rssMb(pid), openSockets: await socketCount(pid), reconnectsPerSec: null });
  } finally {
    await gateway.stop();
  }
  return [...rows, ...(await inProcess())];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.table(await run());
}
