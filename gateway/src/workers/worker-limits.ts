import type { TreeUsage } from './process-usage.js';

/** A worker over one of its limits: what was measured against what was allowed. */
export type LimitBreach = { kind: 'memory'; capMb: number; usedMb: number } | { kind: 'cpu'; budgetSeconds: number; usedSeconds: number };

const MIB = 1024 * 1024;

/**
 * `workers.max_memory_mb` (0 = none) against the resident memory of the worker's process tree.
 * The figure rounds up: a worker a few KB over a 160 MB cap reads "161 MB", never "160 MB, over its 160 MB cap".
 */
export function memoryBreach(usage: TreeUsage, capMb: number): LimitBreach | null {
  if (capMb <= 0 || usage.rssBytes <= capMb * MIB) return null;
  return { kind: 'memory', capMb, usedMb: Math.ceil(usage.rssBytes / MIB) };
}

/** `workers.request_cpu_seconds` (0 = none) against the CPU time used since a call began. */
export function cpuBreach(usedMs: number, budgetMs: number): LimitBreach | null {
  if (budgetMs <= 0 || usedMs <= budgetMs) return null;
  return { kind: 'cpu', budgetSeconds: budgetMs / 1000, usedSeconds: Math.round(usedMs / 100) / 10 };
}

/** For the log and the worker's status: the figures and the setting that allowed them. */
export function describeBreach(breach: LimitBreach): string {
  return breach.kind === 'memory'
    ? `uses ${breach.usedMb} MB of memory, over its ${breach.capMb} MB cap (workers.max_memory_mb)`
    : `used ${breach.usedSeconds} s of CPU time in one call, over its ${breach.budgetSeconds} s budget (workers.request_cpu_seconds)`;
}

/**
 * The hard ceiling on a Python worker's private writable memory (RLIMIT_DATA): a backstop against
 * an allocation burst between two watchdog samples, set well above the cap because it counts
 * address space, which native libraries reserve far beyond what they touch.
 */
export function dataLimitMb(capMb: number): number {
  return capMb <= 0 ? 0 : Math.max(2 * capMb, capMb + 512);
}
