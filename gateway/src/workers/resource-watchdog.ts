import { createProcfsSource, procfsAvailable, totalUsage, treeOf, type ProcessTableSource, type TreeUsage } from './process-usage.js';

export interface ResourceWatchdogOptions {
  /** Where the figures come from. Default: procfs where it exists, else none (the watchdog is off). */
  source?: ProcessTableSource | null;
  /** Between samples. Default 200 ms: a fast allocator overshoots a cap by about this much time's worth. */
  intervalMs?: number;
  /** Between full scans that find new descendants (the costly part: one read per process on the machine). Default 2 s. */
  rescanMs?: number;
  /** Sampling started failing (procfs unreadable); said once per run of failures, the next tick tries again. */
  onError?: (error: Error) => void;
}

export interface ResourceWatchdog {
  /** False where no source works (not Linux): limits are then not enforced by the watchdog. */
  readonly available: boolean;
  /** Samples `pid` and its descendants every interval and hands the totals to `onUsage`; returns "stop watching". */
  watch(pid: number, onUsage: (usage: TreeUsage) => void): () => void;
}

interface Watcher {
  members: number[];
  onUsage: (usage: TreeUsage) => void;
}

/**
 * One timer for every watched worker: each tick reads the known members of each worker's process
 * tree, and a full scan now and then finds processes a backend has forked. Figures are the
 * tree's sums, so a backend cannot slip under a cap by moving work into a child. It measures
 * only; the worker manager decides what a figure means.
 *
 * @example
 *   const watchdog = createResourceWatchdog();
 *   const stop = watchdog.watch(worker.pid, (usage) => { if (usage.rssBytes > cap) void worker.kill(); });
 */
export function createResourceWatchdog(options: ResourceWatchdogOptions = {}): ResourceWatchdog {
  const source = options.source === undefined ? (procfsAvailable() ? createProcfsSource() : null) : options.source;
  const intervalMs = options.intervalMs ?? 200;
  const rescanMs = options.rescanMs ?? 2000;
  const watched = new Map<number, Watcher>();
  let timer: NodeJS.Timeout | null = null;
  let busy = false;
  let failing = false;
  let lastScan = Number.NEGATIVE_INFINITY;

  const tick = async () => {
    if (busy || !source) return;
    busy = true;
    try {
      const rescan = Date.now() - lastScan >= rescanMs;
      const table = rescan ? await source.scan() : await source.read(new Set([...watched.values()].flatMap((watcher) => watcher.members)));
      if (rescan) lastScan = Date.now();
      for (const [root, watcher] of watched) {
        if (rescan) watcher.members = treeOf(root, table);
        // A root that is gone has exited; its exit is reported by the process wrapper.
        if (table.has(root)) watcher.onUsage(totalUsage(watcher.members, table));
      }
      failing = false;
    } catch (error) {
      if (!failing) options.onError?.(error as Error);
      failing = true;
    } finally {
      busy = false;
    }
  };

  return {
    available: source !== null,
    watch(pid, onUsage) {
      if (!source) return () => undefined;
      watched.set(pid, { members: [pid], onUsage });
      if (!timer) {
        timer = setInterval(() => void tick(), intervalMs);
        timer.unref();
      }
      return () => {
        watched.delete(pid);
        if (watched.size === 0 && timer) {
          clearInterval(timer);
          timer = null;
        }
      };
    },
  };
}
