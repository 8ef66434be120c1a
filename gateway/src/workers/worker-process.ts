import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import type { BackendCommand } from './backend-command.js';
import { processTreeKiller, TREE_TAG_VARIABLE } from './process-descendants.js';
import { createOutputBudget, createOutputLines, decodeOutputLine, DEFAULT_OUTPUT_BUDGET, type DroppedOutput, type OutputBudgetOptions } from './worker-output.js';
import { answerHeadOf, createLineSplitter, decodeHostMessage, encodeGatewayMessage, type BackendFailure } from './worker-protocol.js';

/** The child's file descriptors for the request channel (0-2 stay stdin/stdout/stderr). */
export const REQUEST_FD = 3;
export const ANSWER_FD = 4;

/** The largest answer (one result, or one streamed chunk) a worker may send: 64 MiB of JSON. */
export const DEFAULT_MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/** How a worker process ended, and whether the gateway meant it to (stop, idle unload, timeout kill). */
export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  expected: boolean;
  /** The spawn error, when the program could not be started at all (ENOENT, EACCES). */
  spawnError?: string;
}

/** `run` raised: the caller gets the exception's message; the worker stays up. */
export class BackendError extends Error {
  override name = 'BackendError';
  constructor(readonly failure: BackendFailure) {
    super(failure.message);
  }
}

/** The process ended while a request was in flight, or before it ever became ready. */
export class WorkerExitError extends Error {
  override name = 'WorkerExitError';
  constructor(
    message: string,
    readonly exit: WorkerExit,
    readonly stderr: string[],
  ) {
    super(message);
  }
}

/**
 * The answer (a result, or one streamed chunk) was longer than the gateway takes: it was skipped
 * and the worker stays up, its protocol stream in step.
 */
export class AnswerTooLargeError extends Error {
  override name = 'AnswerTooLargeError';
  constructor(readonly limitBytes: number) {
    super(`the answer is larger than ${limitBytes} bytes`);
  }
}

/** The host confirmed it dropped a cancelled request. */
export class WorkerCancelledError extends Error {
  override name = 'WorkerCancelledError';
}

export interface WorkerProcessOptions {
  command: BackendCommand;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Every line the backend prints, for the gateway log, up to the output budget. */
  onOutput: (stream: 'stdout' | 'stderr', line: string) => void;
  /** Lines over the output budget were dropped: told once per budget window, and at exit. */
  onOutputDropped?: (dropped: DroppedOutput, budget: OutputBudgetOptions) => void;
  /** How much printed output reaches `onOutput` per window. Default DEFAULT_OUTPUT_BUDGET. */
  outputBudget?: OutputBudgetOptions;
  /** A line on the answer channel that is not a valid message (a host bug, logged). */
  onProtocolError?: (problem: string) => void;
  /** Lines of stderr kept for crash reports. Default 20. */
  stderrLines?: number;
  /** Largest answer line accepted; a bigger one fails its request with AnswerTooLargeError. Default DEFAULT_MAX_ANSWER_BYTES. */
  maxMessageBytes?: number;
  /** Longest printed line logged; the rest of a longer one is cut. Default 16 KiB. */
  maxOutputLine?: number;
}

export interface WorkerRequest {
  id: number;
  /** Settles with the result, or rejects with BackendError / WorkerExitError / WorkerCancelledError. */
  done: Promise<unknown>;
}

export interface WorkerProcess {
  readonly pid: number | undefined;
  readonly runtime: BackendCommand['runtime'];
  /** Resolves once the backend imported and exposes `run`; rejects with WorkerExitError otherwise. */
  readonly ready: Promise<void>;
  /** Resolves when the process is gone; never rejects. */
  readonly exited: Promise<WorkerExit>;
  isAlive(): boolean;
  request(payload: unknown, onChunk?: (data: unknown) => void): WorkerRequest;
  /** Asks the host to drop a request; its `done` settles when the host confirms or answers. */
  cancel(id: number): void;
  /**
   * SIGTERM to the process group and to the descendants that left it, then SIGKILL after `graceMs`.
   */
  stop(graceMs: number): Promise<WorkerExit>;
  /** SIGKILL to the process group and the descendants that left it, now (a hung worker gets no grace). */
  kill(): Promise<WorkerExit>;
  /** SIGKILL to the tree, synchronously, without waiting (for `process.exit`). */
  killNow(): void;
  stderrTail(): string[];
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  onChunk: ((data: unknown) => void) | undefined;
  /** Set once a streamed chunk overflowed: the call fails so when the host ends it (the slot stays busy until then). */
  tooLarge?: number;
}

/**
 * One backend process: spawns a host for the backend in its own process group, speaks the JSON-lines
 * protocol on fds 3/4, sends its printed output to the log line by line and keeps the last stderr
 * lines for crash reports. It knows nothing of queues or policies: that is the worker manager's job.
 *
 * @example
 *   const worker = spawnWorkerProcess({ command, env, cwd: plugin.dir, onOutput: (s, line) => log.info(line) });
 *   await worker.ready;
 *   const { done } = worker.request({ text: 'hi' });
 *   console.log(await done);
 */
export function spawnWorkerProcess(options: WorkerProcessOptions): WorkerProcess {
  const tailSize = options.stderrLines ?? 20;
  const tail: string[] = [];
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let expected = false;
  let alive = true;
  let fatal: BackendFailure | null = null;
  let markReady: () => void = () => undefined;
  let failReady: (error: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  // Callers may only await `exited`; make sure an unobserved start failure never crashes the gateway.
  ready.catch(() => undefined);
  let isReady = false;

  // Marks everything the backend starts, for the children that leave its group (below).
  const treeTag = randomUUID();
  const child = spawn(options.command.program, options.command.args, {
    cwd: options.cwd,
    env: { ...options.env, [TREE_TAG_VARIABLE]: treeTag },
    // stdin closed: a backend that reads it gets EOF instead of hanging on the gateway's terminal.
    stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
    // Own process group: the gateway can stop the backend with everything it spawned, and a
    // Ctrl-C in the gateway's terminal does not reach workers before the gateway has stopped them.
    detached: process.platform !== 'win32',
    windowsHide: true,
  });
  // The host leads its own process group; children that left it (a new session) are found in
  // /proc on Linux while the host lives, or by their tag once it died by itself, and go with it
  // too (process-descendants.ts).
  const tree = child.pid === undefined ? null : processTreeKiller(child.pid, { tag: treeTag });
  /** Signals the host's tree while it has not been reaped (afterwards its pid may be another's). */
  const signalTree = (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) tree?.signal(signal, true);
  };
  const requests = child.stdio[REQUEST_FD] as Writable | null;
  const answers = child.stdio[ANSWER_FD] as Readable | null;
  // EPIPE when writing to a worker that just died is reported through 'exit'; nothing to add.
  requests?.on('error', () => undefined);
  answers?.on('error', () => undefined);

  // Printed output: cut lines, a budget per window, and the last stderr lines kept whatever the
  // budget dropped, for start-failure and crash messages (worker-output.ts says why).
  const budgetOptions = options.outputBudget ?? DEFAULT_OUTPUT_BUDGET;
  const budget = createOutputBudget(budgetOptions);
  let reportTimer: NodeJS.Timeout | null = null;
  /** Says what a window dropped now, and not again when its timer fires. */
  const report = (dropped: DroppedOutput | null) => {
    if (reportTimer) clearTimeout(reportTimer);
    reportTimer = null;
    if (dropped) options.onOutputDropped?.(dropped, budgetOptions);
  };
  const reportNow = () => report(budget.takeDropped());
  const printed = (stream: 'stdout' | 'stderr', bytes: Buffer, cut: boolean) => {
    let line: string | undefined;
    if (stream === 'stderr') {
      line = decodeOutputLine(bytes, cut);
      tail.push(line);
      if (tail.length > tailSize) tail.shift();
    }
    const now = Date.now();
    const { admitted, report: previous } = budget.admit(bytes.length, now);
    // admit() has taken the last window's count already: report that, not takeDropped()'s null.
    if (previous) report(previous);
    if (admitted) {
      options.onOutput(stream, line ?? decodeOutputLine(bytes, cut));
    } else if (!reportTimer) {
      // Said at the end of the window even if the backend falls silent meanwhile.
      reportTimer = setTimeout(reportNow, Math.max(0, budget.windowEnd() - now));
      reportTimer.unref();
    }
  };
  const maxLine = options.maxOutputLine ?? 16 * 1024;
  for (const stream of ['stdout', 'stderr'] as const) {
    const source = child[stream];
    if (!source) continue;
    const lines = createOutputLines({ maxLineBytes: maxLine, onLine: (bytes, cut) => printed(stream, bytes, cut) });
    source.on('data', lines.push);
    source.on('end', lines.end);
  }

  // A message about a pending request that we cannot read (a result without its value, say): no
  // valid answer for it will follow, so the caller is told now rather than at its timeout, and
  // the host is asked to drop the request in case it is still at work on it.
  const failMalformed = (id: number, problem: string) => {
    const entry = pending.get(id);
    if (!entry) return;
    pending.delete(id);
    requests?.write(encodeGatewayMessage({ type: 'cancel', id }));
    entry.reject(new BackendError({ type: 'ProtocolError', message: `the worker sent a malformed answer (${problem})` }));
  };

  const splitter = createLineSplitter({
    maxLineBytes: options.maxMessageBytes ?? DEFAULT_MAX_ANSWER_BYTES,
    onLine(line) {
      if (!line) return;
      const decoded = decodeHostMessage(line);
      if (!decoded.ok) {
        options.onProtocolError?.(decoded.problem);
        // Not JSON (a backend wrote half a line onto the channel, and the host's answer followed
        // it): the request its start names, else the one in flight, gets no valid answer.
        const id = decoded.id ?? answerHeadOf(Buffer.from(line.slice(0, 256)))?.id ?? (pending.size === 1 ? [...pending.keys()][0] : undefined);
        if (id !== undefined) failMalformed(id, decoded.problem);
        return;
      }
      const message = decoded.message;
      switch (message.type) {
        case 'ready':
          isReady = true;
          markReady();
          return;
        case 'fatal':
          fatal = message.error;
          return;
        case 'chunk':
          pending.get(message.id)?.onChunk?.(message.data);
          return;
        case 'result':
        case 'error':
        case 'cancelled': {
          const entry = pending.get(message.id);
          if (!entry) return;
          pending.delete(message.id);
          if (entry.tooLarge !== undefined) entry.reject(new AnswerTooLargeError(entry.tooLarge));
          else if (message.type === 'result') entry.resolve(message.result);
          else if (message.type === 'error') entry.reject(new BackendError(message.error));
          else entry.reject(new WorkerCancelledError('cancelled'));
          return;
        }
      }
    },
    onOverflow(limit, head) {
      // The splitter skips the rest of the line: only its request fails, the worker stays up.
      // With a host that does not write type and id first, the request is known only when it is
      // the one in flight; otherwise its caller waits for the request timeout.
      const about = answerHeadOf(head);
      const id = about?.id ?? (pending.size === 1 ? [...pending.keys()][0] : undefined);
      const entry = id === undefined ? undefined : pending.get(id);
      if (id === undefined || !entry) {
        options.onProtocolError?.(`an answer larger than ${limit} bytes, about no request in flight, was skipped`);
        return;
      }
      if (about?.type === 'result') {
        pending.delete(id);
        entry.reject(new AnswerTooLargeError(limit));
        return;
      }
      // A stream goes on after an over-long chunk: ask the host to stop it, and fail the call when
      // it says it has, so the call's slot is not given to another while the backend still works.
      entry.onChunk = undefined;
      entry.tooLarge = limit;
      requests?.write(encodeGatewayMessage({ type: 'cancel', id }));
    },
  });
  answers?.on('data', splitter.push);

  const exited = new Promise<WorkerExit>((resolve) => {
    let spawnError: string | undefined;
    child.once('error', (error: NodeJS.ErrnoException) => {
      spawnError = `cannot start ${options.command.program}: ${error.code ?? error.message}`;
      // No 'exit' follows a failed spawn: settle here.
      if (child.pid === undefined) finish(null, null);
    });
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (!alive) return;
      alive = false;
      // Nothing more is read from a process that has gone: a descendant that escaped with its
      // stdio (re-parented before it could be found) must not keep the gateway's event loop, and
      // so its shutdown, waiting on these pipes.
      for (const stream of child.stdio) stream?.destroy();
      // The output has drained ('close'): say what the last window dropped before the exit is reported.
      reportNow();
      const exit: WorkerExit = { code, signal, expected, ...(spawnError ? { spawnError } : {}) };
      const how = spawnError ?? (signal ? `was killed by ${signal}` : `exited with code ${code}`);
      const startFailure = fatal ? `${fatal.type}: ${fatal.message}` : null;
      const error = new WorkerExitError(
        isReady ? `The worker ${how}` : `The backend failed to start: ${startFailure ?? how}`,
        exit,
        [...tail],
      );
      if (!isReady) failReady(error);
      for (const entry of pending.values()) entry.reject(error);
      pending.clear();
      resolve(exit);
    };
    child.once('exit', (code, signal) => {
      // Anything the backend spawned dies with it (its process group, and the children that left
      // the group found while it lived): no orphans, and the stdio pipes they inherited close, so
      // 'close' below can fire.
      if (process.platform !== 'win32') tree?.signal('SIGKILL', false);
      // 'close' waits for stdio to drain, so the last printed lines are in the tail before we
      // report; a grandchild that escaped the group must not delay crash detection for long.
      const late = setTimeout(() => finish(code, signal), 2000);
      late.unref();
      child.once('close', () => {
        clearTimeout(late);
        finish(code, signal);
      });
    });
  });

  const terminate = async (graceMs: number): Promise<WorkerExit> => {
    expected = true;
    if (!alive) return exited;
    signalTree(graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
    if (graceMs > 0) {
      const timer = setTimeout(() => signalTree('SIGKILL'), graceMs);
      timer.unref();
      void exited.then(() => clearTimeout(timer));
    }
    // Closing our end of the channel also tells a host that ignores signals to go.
    requests?.end();
    return exited;
  };

  return {
    get pid() {
      return child.pid;
    },
    runtime: options.command.runtime,
    ready,
    exited,
    isAlive: () => alive,
    request(payload, onChunk) {
      const id = nextId++;
      const done = new Promise<unknown>((resolve, reject) => {
        if (!alive || !requests) {
          reject(new WorkerExitError('The worker is not running', { code: child.exitCode, signal: child.signalCode, expected }, [...tail]));
          return;
        }
        pending.set(id, { resolve, reject, onChunk });
        let line: string;
        try {
          line = encodeGatewayMessage({ type: 'request', id, payload });
        } catch (error) {
          pending.delete(id);
          reject(new BackendError({ type: 'TypeError', message: `The payload is not JSON: ${(error as Error).message}` }));
          return;
        }
        requests.write(line);
      });
      return { id, done };
    },
    cancel(id) {
      if (alive && pending.has(id)) requests?.write(encodeGatewayMessage({ type: 'cancel', id }));
    },
    stop: (graceMs) => terminate(graceMs),
    kill: () => terminate(0),
    killNow() {
      expected = true;
      signalTree('SIGKILL');
    },
    stderrTail: () => [...tail],
  };
}
