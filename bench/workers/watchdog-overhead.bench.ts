/**
 * What the worker watchdog costs the gateway: the CPU of one full /proc scan (finds forked
 * children; every 2 s) and of one stat read (each watched process, every 200 ms), and the
 * gateway-side CPU per second with 0, 1 and 4 idle workers watched, measured in this process
 * against a window with nothing watched. Scales with the number of processes on the machine.
 *
 * Run: `node --import tsx bench/workers/watchdog-overhead.bench.ts` (BENCH_SECONDS per window, default 10).
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { createProcfsSource } from '../../gateway/src/workers/process-usage.js';
import { createResourceWatchdog } from '../../gateway/src/workers/resource-watchdog.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

const cpuMsSince = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};

async function timed(label: string, repeat: number, work: () => Promise<unknown>) {
  const start = process.cpuUsage();
  for (let index = 0; index < repeat; index += 1) await work();
  return { measure: label, 'CPU (ms)': cpuMsSince(start) / repeat };
}

export async function run() {
  const processes = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).length;
  const source = createProcfsSource();
  await source.scan();
  const rows: Array<Record<string, unknown>> = [
    { ...(await timed(`one full scan (${processes} processes)`, 20, () => source.scan())), 'per second': null },
    { ...(await timed('one stat read', 500, () => source.read([process.pid]))), 'per second': null },
  ];
  const idle = Array.from({ length: 4 }, () => spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }));
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    let baseline = 0;
    for (const count of [0, 1, 4]) {
      const watchdog = createResourceWatchdog();
      let samples = 0;
      const stops = idle.slice(0, count).map((child) => watchdog.watch(child.pid!, () => (samples += 1)));
      const start = process.cpuUsage();
      await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
      const perSecond = cpuMsSince(start) / SECONDS;
      for (const stop of stops) stop();
      if (count === 0) baseline = perSecond;
      rows.push({ measure: `${count} worker(s) watched, ${(samples / SECONDS).toFixed(1)} samples/s`, 'CPU (ms)': null, 'per second': count === 0 ? perSecond : perSecond - baseline });
    }
  } finally {
    for (const child of idle) child.kill();
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.table(await run());
