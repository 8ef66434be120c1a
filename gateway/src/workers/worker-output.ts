import { createByteLines, firstBytes } from './byte-lines.js';

/**
 * What a backend prints goes to the gateway log, and the log's sinks (stderr, the rotating file,
 * the event bus) queue whatever they are given in the gateway's memory. A backend printing without
 * pause once grew the gateway from 103 MB to 905 MB and pushed every earlier line (crash
 * tracebacks) out of the rotated files. So the gateway reads a worker's output as fast as it comes
 * (a backend blocked on a full pipe would stall its calls) but passes on only a bounded amount per
 * time window, journald's way: beyond the budget lines are dropped and counted, and the count is
 * logged once per window. A line is cut at a fixed length, so no line is held whole in memory.
 */

/** How much of one worker's output (stdout and stderr together) reaches the log per window. */
export interface OutputBudgetOptions {
  /** Lines per window. */
  lines: number;
  /** Bytes per window (lines are counted at their cut length). */
  bytes: number;
  windowMs: number;
}

/** 1000 lines or 256 KiB per 10 s: far more than a backend's progress and errors, far less than a 10 MiB log file fills with. */
export const DEFAULT_OUTPUT_BUDGET: OutputBudgetOptions = { lines: 1000, bytes: 256 * 1024, windowMs: 10_000 };

/** Lines and bytes dropped since the last report. */
export interface DroppedOutput {
  lines: number;
  bytes: number;
}

export interface OutputBudget {
  /**
   * Whether a line of `bytes` may be logged at `now`. `report` carries what the previous window
   * dropped when this line opens a new one, to be logged before this line.
   */
  admit(bytes: number, now: number): { admitted: boolean; report: DroppedOutput | null };
  /** What was dropped and not yet reported, now counted as reported. */
  takeDropped(): DroppedOutput | null;
  /** When the current window ends (a pending report is due then). */
  windowEnd(): number;
}

/**
 * A fixed-window line and byte budget. Pure: the caller passes the time.
 *
 * @example
 *   const budget = createOutputBudget({ lines: 2, bytes: 1024, windowMs: 1000 });
 *   budget.admit(10, 0).admitted;  // true, true, then false until t = 1000
 */
export function createOutputBudget(options: OutputBudgetOptions): OutputBudget {
  let start = Number.NEGATIVE_INFINITY;
  let lines = 0;
  let bytes = 0;
  let dropped: DroppedOutput = { lines: 0, bytes: 0 };
  const takeDropped = () => {
    if (dropped.lines === 0) return null;
    const report = dropped;
    dropped = { lines: 0, bytes: 0 };
    return report;
  };
  return {
    admit(size, now) {
      let report: DroppedOutput | null = null;
      if (now >= start + options.windowMs) {
        report = takeDropped();
        start = now;
        lines = 0;
        bytes = 0;
      }
      if (lines + 1 > options.lines || bytes + size > options.bytes) {
        dropped.lines += 1;
        dropped.bytes += size;
        return { admitted: false, report };
      }
      lines += 1;
      bytes += size;
      return { admitted: true, report };
    },
    takeDropped,
    windowEnd: () => start + options.windowMs,
  };
}

/** The marker put after a line cut at the length limit. */
export const CUT_MARKER = ' … [line cut]';

/** Where to cut `bytes` at most `limit` bytes in without splitting a UTF-8 character. */
function utf8Boundary(bytes: Buffer, limit: number): number {
  let end = Math.min(limit, bytes.length);
  // Step back over continuation bytes (10xxxxxx) to the start of the character the limit falls in.
  if (end < bytes.length) while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end -= 1;
  return end;
}

/** A printed line as text: at most `maxBytes` of it, marked when it was longer. */
export function decodeOutputLine(line: Buffer, cut: boolean): string {
  const text = line.toString('utf8');
  const clean = text.endsWith('\r') ? text.slice(0, -1) : text;
  return cut ? `${clean}${CUT_MARKER}` : clean;
}

/**
 * Splits printed output into lines of at most `maxLineBytes`: a longer line is passed on at once,
 * cut (at a character boundary), and the rest of it up to its newline is skipped (byte-lines.ts).
 *
 * @example
 *   const lines = createOutputLines({ maxLineBytes: 16_384, onLine: (bytes, cut) => log(decodeOutputLine(bytes, cut)) });
 *   stream.on('data', lines.push);
 *   stream.on('end', lines.end);
 */
export function createOutputLines(options: { maxLineBytes: number; onLine: (line: Buffer, cut: boolean) => void }) {
  return createByteLines({
    maxLineBytes: options.maxLineBytes,
    onLine: (line) => options.onLine(line, false),
    onOverlong: (start) => {
      // One byte past the limit tells whether the limit falls inside a character.
      const line = firstBytes(start, options.maxLineBytes + 1);
      options.onLine(line.subarray(0, utf8Boundary(line, options.maxLineBytes)), true);
    },
  });
}
