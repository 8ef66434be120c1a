import { readdirSync, readFileSync } from 'node:fs';

/**
 * Stopping a worker with everything it started. The host leads its own process group, so one
 * signal to the group reaches what a backend spawned — unless a child left the group (Python
 * `start_new_session=True`, Node `detached: true`, `setsid`). Those are found on Linux by their
 * parent links in `/proc` while the worker still lives (once it is gone they are re-parented and
 * no longer look like its descendants), remembered with their start time, and signalled too.
 * A root that exits by itself leaves no such scan behind, so the tree also carries a tag in its
 * environment (`TREE_TAG_VARIABLE`, inherited unless a child clears it) and, once the root is gone,
 * the processes that carry it are found by it. Elsewhere only the group is signalled.
 */

/** The environment variable that marks a worker's tree: `<name>=<the tree's random tag>`. */
export const TREE_TAG_VARIABLE = 'AIPLUGS_WORKER_TREE';

/** One process's parent link, from `/proc/<pid>/stat`. */
export interface ProcessLink {
  pid: number;
  ppid: number;
  /** Its process group. */
  pgid: number;
  /** Clock ticks after boot when it started: tells it from a later process given the same pid. */
  startTime: number;
}

/**
 * The pids below `root` (not `root` itself), parents before their children, from a list of
 * (pid, ppid) links. Pure; linear in the list; safe against cycles.
 *
 * @example
 *   descendantsOf(10, [{ pid: 11, ppid: 10 }, { pid: 12, ppid: 11 }, { pid: 13, ppid: 1 }]); // → [11, 12]
 */
export function descendantsOf(root: number, links: Iterable<{ pid: number; ppid: number }>): number[] {
  const children = new Map<number, number[]>();
  for (const { pid, ppid } of links) {
    if (pid === ppid) continue;
    const siblings = children.get(ppid);
    if (siblings) siblings.push(pid);
    else children.set(ppid, [pid]);
  }
  const found = new Set([root]);
  // A Set iterates over what is added while iterating: a breadth-first walk that visits each pid once.
  for (const pid of found) for (const child of children.get(pid) ?? []) found.add(child);
  found.delete(root);
  return [...found];
}

/**
 * Parses the parent link out of `/proc/<pid>/stat`. The command name (field 2) may hold spaces
 * and parentheses, so fields are counted from the last `)`: field n is at index n - 3 after it.
 */
export function parseStatLink(text: string): ProcessLink | null {
  const close = text.lastIndexOf(')');
  if (close === -1) return null;
  const fields = text.slice(close + 2).split(' ');
  // 4 ppid, 5 pgrp, 22 starttime
  const link = { pid: Number.parseInt(text, 10), ppid: Number(fields[1]), pgid: Number(fields[2]), startTime: Number(fields[19]) };
  return Object.values(link).every(Number.isInteger) ? link : null;
}

function readLink(procDir: string, pid: number): ProcessLink | null {
  try {
    return parseStatLink(readFileSync(`${procDir}/${pid}/stat`, 'latin1'));
  } catch {
    return null; // gone between listing and reading
  }
}

/** Every process's parent link (Linux). Synchronous: it also runs at `process.exit`. */
export function readProcessLinks(procDir = '/proc'): ProcessLink[] {
  const links: ProcessLink[] = [];
  let names: string[];
  try {
    names = readdirSync(procDir);
  } catch {
    return links;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const link = readLink(procDir, Number(name));
    if (link) links.push(link);
  }
  return links;
}

/**
 * The processes whose environment carries `tag` (Linux; the user's own: another account's
 * `environ` cannot be read). Synchronous, as readProcessLinks.
 */
export function readTaggedProcesses(tag: string, options: { procDir?: string; startedAfter?: number } = {}): ProcessLink[] {
  const procDir = options.procDir ?? '/proc';
  const marker = `\0${TREE_TAG_VARIABLE}=${tag}\0`;
  // Only what started after the tree's root can be of it: a few processes, whose environments are read.
  return readProcessLinks(procDir).filter((link) => {
    if (link.startTime < (options.startedAfter ?? 0)) return false;
    try {
      return `\0${readFileSync(`${procDir}/${link.pid}/environ`, 'latin1')}`.includes(marker);
    } catch {
      return false; // gone, or not ours
    }
  });
}

export interface ProcessTreeKiller {
  /**
   * Signals the root's process group (the root alone where it leads none) and every descendant
   * that left the group. With `rescan`, first looks for new ones: only while the root has not been
   * reaped, so its pid, and its children's parent links, are still its own. Without it (the root
   * is gone), a tree given a tag also looks for the processes that carry it.
   */
  signal(signal: NodeJS.Signals, rescan: boolean): void;
}

/**
 * A killer for the tree under `root`, a process-group leader. Descendants that left the group are
 * remembered from one scan to the next, so they are still signalled after the root has exited
 * and they were re-parented; each is checked to be the same process (start time) first.
 *
 * @example
 *   const tree = processTreeKiller(child.pid);
 *   tree.signal('SIGTERM', true); // while the child lives
 *   child.once('exit', () => tree.signal('SIGKILL', false));
 */
export function processTreeKiller(root: number, options: { procDir?: string; platform?: NodeJS.Platform; tag?: string } = {}): ProcessTreeKiller {
  const procDir = options.procDir ?? '/proc';
  const platform = options.platform ?? process.platform;
  const escaped = new Map<number, ProcessLink>();
  // When the root started (read while it surely lives: now), the bound for the tag's search.
  const rootStart = platform === 'linux' && options.tag ? readLink(procDir, root)?.startTime : undefined;
  const send = (pid: number, signal: NodeJS.Signals): boolean => {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false; // gone, or (group) not a leader
    }
  };
  return {
    signal(signal, rescan) {
      if (platform === 'linux' && rescan) {
        const links = readProcessLinks(procDir);
        const below = new Set(descendantsOf(root, links));
        for (const link of links) if (below.has(link.pid) && link.pgid !== root) escaped.set(link.pid, link);
      }
      if (platform === 'linux' && !rescan && options.tag && rootStart !== undefined) {
        for (const link of readTaggedProcesses(options.tag, { procDir, startedAfter: rootStart })) if (link.pid !== root && link.pgid !== root) escaped.set(link.pid, link);
      }
      // Found before the group is signalled: once the root dies its children are re-parented.
      if (platform === 'win32' || !send(-root, signal)) send(root, signal);
      for (const [pid, link] of escaped) {
        if (readLink(procDir, pid)?.startTime !== link.startTime) escaped.delete(pid);
        else send(pid, signal);
      }
    },
  };
}
