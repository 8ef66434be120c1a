/**
 * WebSocket churn: 2 × 10,000 connect → hello → close cycles against the real gateway (CLI child),
 * 100 at a time, half of them reconnecting with the same client id (the zombie-replacement path).
 * Reports the gateway's RSS and open sockets before, right after, and after a settle, to show
 * that nothing leaks. Goal: sockets back to the baseline, RSS flat (no growth proportional to 10k).
 *
 * Run: `node --import tsx bench/workers/ws-churn.bench.ts` (BENCH_RECONNECTS, default 10000).
 */
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { WebSocket } from 'ws';
import { rssMb, socketCount, startGatewayChild } from './support.js';

const RECONNECTS = Number(process.env.BENCH_RECONNECTS ?? 10_000);
const PARALLEL = 100;

export interface ChurnRow {
  phase: string;
  gatewayRssMb: number | null;
  gatewaySockets: number | null;
  reconnectsPerSec: number | null;
}

export async function run(): Promise<ChurnRow[]> {
  const gateway = await startGatewayChild();
  const pid = gateway.child.pid!;
  const rows: ChurnRow[] = [];
  const url = (clientId: string) => `ws://127.0.0.1:${gateway.apiPort}/ws?plugin_id=node-ops&client_id=${clientId}&token=${gateway.token}`;
  const cycle = async (clientId: string) => {
    const ws = new WebSocket(url(clientId), { perMessageDeflate: false });
    await once(ws, 'message');
    ws.close();
    await once(ws, 'close');
  };
  try {
    // Warm up the code paths so the baseline includes JIT-compiled code, not just startup.
    for (let i = 0; i < 200; i += 1) await cycle(`warm-${i}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    rows.push({ phase: 'baseline (after 200 warm-up reconnects)', gatewayRssMb: await rssMb(pid), gatewaySockets: await socketCount(pid), reconnectsPerSec: null });
    // Two rounds: memory that only grows with the number of past connections would show up as
    // a second step; a heap that has simply grown to its working size stays flat.
    for (let round = 1; round <= 2; round += 1) {
      let started = 0;
      const begin = performance.now();
      await Promise.all(
        Array.from({ length: PARALLEL }, async (_, lane) => {
          while (started < RECONNECTS) {
            started += 1;
            await cycle(lane % 2 === 0 ? `lane-${lane}` : `r${round}-client-${started}`);
          }
        }),
      );
      const rate = Math.round(RECONNECTS / ((performance.now() - begin) / 1000));
      rows.push({ phase: `right after ${round * RECONNECTS} reconnects`, gatewayRssMb: await rssMb(pid), gatewaySockets: await socketCount(pid), reconnectsPerSec: rate });
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
    rows.push({ phase: 'after a 2 s settle', gatewayRssMb: await rssMb(pid), gatewaySockets: await socketCount(pid), reconnectsPerSec: null });
  } finally {
    await gateway.stop();
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.table(await run());
}
