import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { descendantsOf } from './process-descendants.js';

/** What the watchdog needs to know of one process. */
export interface ProcessUsage {
  pid: number;
  ppid: number;
  /** Resident memory. */
  rssBytes: number;
  /** CPU time of the process and of the children it has reaped (user + system). */
  cpuMs: number;
}

/** A process tree's totals: a backend that forks is measured with everything it started. */
export interface TreeUsage {
  rssBytes: number;
  cpuMs: number;
  processes: number;
}

/** Where process figures come from; procfs on Linux, something else elsewhere. */
export interface ProcessTableSource {
  /** Every process (a full scan: finds the descendants). */
  scan(): Promise<Map<number, ProcessUsage>>;
  /** Only these processes (cheap; between scans). Processes that are gone are left out. */
  read(pids: Iterable<number>): Promise<Map<number, ProcessUsage>>;
}

export interface StatUnits {
  pageBytes: number;
  ticksPerSecond: number;
}

/**
 * Parses `/proc/<pid>/stat`. The command name (field 2) may hold spaces and parentheses, so the
 * fields are counted from the last `)`; field n is then at index n - 3.
 *
 * @example
 *   parseProcStat('42 (a) b) S 1 42 42 0 -1 0 0 0 0 0 150 50 0 0 20 0 1 0 100 1000 256', { pageBytes: 4096, ticksPerSecond: 100 });
 *   // → { pid: 42, ppid: 1, rssBytes: 1048576, cpuMs: 2000 }
 */
export function parseProcStat(text: string, units: StatUnits): ProcessUsage | null {
  const close = text.lastIndexOf(')');
  if (close === -1) return null;
  const pid = Number.parseInt(text, 10);
  const fields = text.slice(close + 2).split(' ');
  const field = (n: number) => Number(fields[n - 3]);
  // 4 ppid, 14 utime, 15 stime, 16 cutime, 17 cstime (clock ticks), 24 rss (pages)
  const values = [field(4), field(14), field(15), field(16), field(17), field(24)];
  if (!Number.isInteger(pid) || values.some((value) => !Number.isFinite(value))) return null;
  const [ppid, utime, stime, cutime, cstime, rss] = values as [number, number, number, number, number, number];
  return { pid, ppid, rssBytes: rss * units.pageBytes, cpuMs: ((utime + stime + cutime + cstime) * 1000) / units.ticksPerSecond };
}

/** The pids of `root` and all its descendants in `table` (root first); empty if root is gone. */
export function treeOf(root: number, table: Map<number, ProcessUsage>): number[] {
  return table.has(root) ? [root, ...descendantsOf(root, table.values())] : [];
}

/** Sums what `table` knows of `pids`. */
export function totalUsage(pids: Iterable<number>, table: Map<number, ProcessUsage>): TreeUsage {
  const usage: TreeUsage = { rssBytes: 0, cpuMs: 0, processes: 0 };
  for (const pid of pids) {
    const entry = table.get(pid);
    if (!entry) continue;
    usage.rssBytes += entry.rssBytes;
    usage.cpuMs += entry.cpuMs;
    usage.processes += 1;
  }
  return usage;
}

/** Page size and clock-tick rate from `getconf`, as procps does; the usual Linux values if it is missing. */
function readStatUnits(): StatUnits {
  const ask = (name: string, fallback: number) => {
    try {
      const value = Number(execFileSync('getconf', [name], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      return Number.isFinite(value) && value > 0 ? value : fallback;
    } catch {
      return fallback;
    }
  };
  return { pageBytes: ask('PAGESIZE', 4096), ticksPerSecond: ask('CLK_TCK', 100) };
}

/** True where the procfs source works (Linux). */
export function procfsAvailable(procDir = '/proc'): boolean {
  return existsSync(`${procDir}/self/stat`);
}

/**
 * Process figures from Linux procfs: one small read of `/proc/<pid>/stat` per process, no child
 * processes spawned (after one `getconf` for the units). The kernel here may lack the per-task
 * `children` files, so descendants are found by a scan of every pid.
 *
 * @example
 *   const source = createProcfsSource();
 *   const table = await source.scan();
 *   totalUsage(treeOf(worker.pid, table), table).rssBytes;
 */
export function createProcfsSource(options: { procDir?: string; units?: StatUnits } = {}): ProcessTableSource {
  const procDir = options.procDir ?? '/proc';
  let units = options.units;
  // Synchronous on purpose: a procfs read is served from kernel memory in microseconds, and the
  // thread pool's open/read/close round trips for a few hundred of them cost ten times the CPU.
  const readOne = (pid: number): ProcessUsage | null => {
    units ??= readStatUnits();
    try {
      return parseProcStat(readFileSync(`${procDir}/${pid}/stat`, 'latin1'), units);
    } catch {
      return null; // exited between listing and reading, or not ours to read
    }
  };
  const collect = (pids: Iterable<number>) => {
    const table = new Map<number, ProcessUsage>();
    for (const pid of pids) {
      const entry = readOne(pid);
      if (entry) table.set(entry.pid, entry);
    }
    return table;
  };
  return {
    scan: async () => collect(readdirSync(procDir).filter((name) => /^\d+$/.test(name)).map(Number)),
    read: async (pids) => collect(pids),
  };
}
