import { ApiError } from '../api/api-error.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../events/logger.js';
import type { CallLimits, InferenceBackend } from '../inference/inference-router.js';
import type { LoadedPlugin } from '../plugins/plugin-registry.js';
import { backendCommand, UnsupportedBackendError } from './backend-command.js';
import { createCrashPolicy, type CrashPolicy, type CrashPolicyOptions } from './crash-policy.js';
import { callsByCaller, callToDisplace, CallerTurns, type Caller } from './fair-share.js';
import type { TreeUsage } from './process-usage.js';
import { createResourceWatchdog, type ResourceWatchdog } from './resource-watchdog.js';
import { createSiteCrashes, type SiteCrashes } from './site-crashes.js';
import { formatBytes, withStderr, workerErrors } from './worker-errors.js';
import { buildWorkerEnv } from './worker-env.js';
import { cpuBreach, describeBreach, memoryBreach, type LimitBreach } from './worker-limits.js';
import type { OutputBudgetOptions } from './worker-output.js';
import {
  ANSWER_FD,
  AnswerTooLargeError,
  BackendError,
  DEFAULT_MAX_ANSWER_BYTES,
  REQUEST_FD,
  spawnWorkerProcess,
  WorkerCancelledError,
  WorkerExitError,
  type WorkerProcess,
} from './worker-process.js';

export type WorkerState = 'idle' | 'provisioning' | 'starting' | 'ready' | 'backoff' | 'stopping' | 'failed';

/** What `GET /api/workers` shows for one plugin. */
export interface WorkerStatus {
  plugin: string;
  state: WorkerState;
  pid: number | null;
  runtime: string | null;
  inFlight: number;
  queued: number;
  served: number;
  recentCrashes: number;
  startedAt: string | null;
  lastError: string | null;
}

export interface WorkerManagerOptions {
  /**
   * Makes a plugin's models present and returns `{ KEY: absolutePath }`; called before every spawn
   * (the provisioner's `ensure`). A rejection fails the waiting requests, not the worker.
   */
  provisionModels: (plugin: LoadedPlugin, signal: AbortSignal) => Promise<Record<string, string>>;
  /** Passed to backends as `AIPLUGS_MODELS_DIR`. */
  modelsDir: string;
  logger: Logger;
  /** Where `worker-state` events go (dashboard, `GET /api/events`). */
  bus?: EventBus;
  /** Interpreter for `.py` backends without their own venv. Default `python3`. */
  python?: string;
  /** Node binary for `.js`/`.ts` backends. Default: the gateway's own. */
  node?: string;
  /** Idle time before a worker is unloaded; 0 = never. Default 5 min. */
  keepAliveMs?: number;
  /** Per request, from dispatch to answer; on expiry the worker is killed and restarted. Default 120 s. */
  requestTimeoutMs?: number;
  /** From spawn to "ready" (imports, model loading). Default: `requestTimeoutMs`. */
  startupTimeoutMs?: number;
  /** Requests one worker runs at once. Default 1. */
  concurrency?: number;
  /**
   * Per-worker memory cap in MB (0 = none), on the resident memory of the worker and everything it
   * started: over it, the worker is killed and that counts as a crash. Default 0.
   */
  maxMemoryMb?: number;
  /** CPU time one call may use (0 = no budget); over it, as for memory. Default 0. */
  requestCpuMs?: number;
  /** Measures workers for the two limits above. Default: procfs on Linux; elsewhere it is off (and says so). */
  watchdog?: ResourceWatchdog;
  /** Requests waiting beyond `concurrency`; more get HTTP 503 `worker_busy`. Default 16. */
  queueSize?: number;
  /** Between SIGTERM and SIGKILL when stopping a worker. Default 3 s. */
  stopGraceMs?: number;
  /** The largest result or streamed chunk a worker may send; a larger one fails its call with 502 `result_too_large`. Default 64 MiB. */
  maxAnswerBytes?: number;
  /** How much of a worker's printed output reaches the log per window (worker-output.ts). Default 1000 lines or 256 KiB per 10 s. */
  outputBudget?: OutputBudgetOptions;
  /** Restart backoff and crash-loop limits (default: 3 crashes in 5 min stop the plugin). */
  crash?: CrashPolicyOptions;
  /** The environment the allowlisted variables are taken from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Names passed to workers beyond the built-in allowlist (`workers.env_passthrough`). */
  envPassthrough?: string[];
  /** Secret values no worker may inherit under any name (API token, cloud key). */
  secretValues?: () => Array<string | null | undefined>;
  /** Secrets a manifest may ask for by name (see worker-env.ts). */
  grantableSecrets?: (pluginId: string) => Record<string, string | null | undefined>;
}

export interface WorkerManager extends InferenceBackend {
  infer(plugin: LoadedPlugin, payload: unknown, signal: AbortSignal, onChunk?: (chunk: unknown) => void, limits?: CallLimits): Promise<unknown>;
  list(): WorkerStatus[];
  status(pluginId: string): WorkerStatus | undefined;
  /** Clears a crash-loop stop so the next request starts the worker again. */
  reset(pluginId: string): boolean;
  /** Stops a plugin's worker now (it restarts on the next request). */
  unload(pluginId: string): Promise<void>;
  /**
   * Tells the manager a plugin changed on disk (the registry's onChange): its worker restarts
   * with the new code once idle, and a crash-loop stop is lifted. `null` = removed or broken.
   */
  refresh(pluginId: string, plugin: LoadedPlugin | null): void;
  /** Stops every worker (SIGTERM, then SIGKILL after the grace period) and refuses new work. */
  stop(): Promise<void>;
}

interface Job {
  payload: unknown;
  /** The site whose page made the call; none for the user's own calls. */
  site: string | undefined;
  signal: AbortSignal;
  onChunk: ((chunk: unknown) => void) | undefined;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  settled: boolean;
  onAbort: () => void;
  requestId?: number;
  worker?: WorkerProcess;
  timer?: NodeJS.Timeout;
  /** The worker's CPU time at the first sample after dispatch: what this call is charged from. */
  cpuStartMs?: number;
}

type KillReason = 'timeout' | 'idle' | 'shutdown' | 'unload' | 'reload';

/** This fraction of a plugin's places (running and queued), at least one, is kept from any one site's pages. */
const SITE_SHARE_DIVISOR = 4;

interface Settings {
  keepAliveMs: number;
  requestTimeoutMs: number;
  startupTimeoutMs: number;
  concurrency: number;
  queueSize: number;
  stopGraceMs: number;
  maxMemoryMb: number;
  requestCpuMs: number;
  maxAnswerBytes: number;
}

/**
 * One plugin's worker: its process, queue, timers and crash history. All policy lives here; the
 * process wrapper only speaks the protocol.
 */
class PluginWorker {
  state: WorkerState = 'idle';
  process: WorkerProcess | null = null;
  readonly queue: Job[] = [];
  readonly inFlight = new Set<Job>();
  private readonly turns = new CallerTurns();
  served = 0;
  startedAt: number | null = null;
  lastError: string | null = null;
  private starting = false;
  /** Aborts the model download of a start in progress: the worker's lifetime, or the last waiting caller leaving. */
  private provisioning: AbortController | null = null;
  private stopping: Promise<void> | null = null;
  private killReason: KillReason | null = null;
  private backoffUntil = 0;
  private backoffTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  /** The plugin revision that crash-looped: a new revision (any file edited) lifts the stop. */
  private failedRevision: string | null = null;
  /** The revision the running process was started from; a newer one restarts it when idle. */
  private runningRevision: string | null = null;
  /** Processes that reached "ready": only their exits count as crashes (start failures are counted by start()). */
  private readonly readyProcesses = new WeakSet<WorkerProcess>();
  /** Processes the watchdog stopped, and why: their exits are crashes, their callers get the reason. */
  private readonly breaches = new WeakMap<WorkerProcess, LimitBreach>();
  private closed = false;
  /** Crashes that stop the plugin: at start-up, or while a call of the user's own ran. */
  private readonly crashes: CrashPolicy;
  /** Crashes while only pages' calls ran: each stops those pages' sites (site-crashes.ts). */
  private readonly siteCrashes: SiteCrashes;
  /** The same crashes, for the restart backoff alone: it never stops the plugin. */
  private readonly pageCrashBackoff: CrashPolicy;
  /** Calls a worker's death failed whose job may have left `inFlight` before the exit is handled. */
  private readonly crashedJobs = new WeakMap<WorkerProcess, Job[]>();
  private readonly log: Logger;
  private readonly output: Logger;

  constructor(
    public plugin: LoadedPlugin,
    private readonly options: WorkerManagerOptions,
    private readonly settings: Settings,
    private readonly lifetime: AbortSignal,
    private readonly watchdog: ResourceWatchdog | null,
  ) {
    this.crashes = createCrashPolicy(options.crash);
    this.siteCrashes = createSiteCrashes(options.crash);
    this.pageCrashBackoff = createCrashPolicy({ ...options.crash, limit: Infinity });
    this.log = options.logger;
    // Backend output is logged under the plugin's own id, as the seed did.
    this.output = options.logger.child(plugin.id);
  }

  private get id(): string {
    return this.plugin.id;
  }

  private setState(state: WorkerState, detail?: string): void {
    if (state === this.state && detail === undefined) return;
    this.state = state;
    this.options.bus?.emit({ type: 'worker-state', plugin: this.id, state, ...(detail !== undefined ? { detail } : {}) });
  }

  status(): WorkerStatus {
    return {
      plugin: this.id,
      state: this.state,
      pid: this.process?.pid ?? null,
      runtime: this.process?.runtime ?? null,
      inFlight: this.inFlight.size,
      queued: this.queue.length,
      served: this.served,
      recentCrashes: this.crashes.recent(Date.now()),
      startedAt: this.startedAt === null ? null : new Date(this.startedAt).toISOString(),
      lastError: this.lastError,
    };
  }

  async submit(plugin: LoadedPlugin, payload: unknown, signal: AbortSignal, onChunk?: (chunk: unknown) => void, site?: string): Promise<unknown> {
    if (this.closed) throw workerErrors.shuttingDown();
    this.refresh(plugin);
    if (this.state === 'failed') throw workerErrors.failed(this.id, this.lastError ?? 'unknown error');
    if (site !== undefined && this.siteCrashes.refuses(site, Date.now())) throw workerErrors.failedForSite(this.id);
    if (signal.aborted) throw workerErrors.cancelled();
    const capacity = this.settings.concurrency + this.settings.queueSize;
    if (this.inFlight.size + this.queue.length >= capacity && !this.makeRoomFor(site, capacity)) throw workerErrors.busy(this.id, capacity);
    // A quarter of the places stays for other sites: one site sending slow calls filled them all,
    // and every other site got worker_busy for as long as its calls took (helper-80). A page's own
    // burst (Promise.all over a few calls) still fits in the rest.
    const share = Math.max(1, capacity - Math.max(1, Math.floor(capacity / SITE_SHARE_DIVISOR)));
    if (site !== undefined && (this.callsByCaller().get(site) ?? 0) >= share) throw workerErrors.busy(this.id, share, 'this site');
    return new Promise<unknown>((resolvePromise, rejectPromise) => {
      const job: Job = {
        payload,
        site,
        signal,
        onChunk,
        settled: false,
        resolve: resolvePromise,
        reject: rejectPromise,
        onAbort: () => this.cancel(job),
      };
      signal.addEventListener('abort', job.onAbort, { once: true });
      this.queue.push(job);
      this.turns.arrived(site, this.queue);
      this.pump();
    });
  }

  /** The calls each caller has queued or running. */
  private callsByCaller(): Map<Caller, number> {
    return callsByCaller([...this.queue, ...this.inFlight]);
  }

  /** All places are taken: a caller holding fewer than another frees one of its waiting places (fair-share.ts). */
  private makeRoomFor(site: Caller, capacity: number): boolean {
    const displaced = callToDisplace(this.queue, this.callsByCaller(), site);
    if (!displaced) return false;
    this.queue.splice(this.queue.indexOf(displaced), 1);
    this.finish(displaced, { error: workerErrors.busy(this.id, capacity) });
    return true;
  }

  /** The next waiting call, by turns of their callers. */
  private takeNext(): Job {
    const [job] = this.queue.splice(this.turns.next(this.queue), 1);
    this.turns.served(job!.site, this.queue);
    return job!;
  }

  private finish(job: Job, outcome: { result: unknown } | { error: Error }): void {
    if (job.settled) return;
    job.settled = true;
    job.signal.removeEventListener('abort', job.onAbort);
    if ('error' in outcome) job.reject(outcome.error);
    else job.resolve(outcome.result);
  }

  private cancel(job: Job): void {
    const queued = this.queue.indexOf(job);
    if (queued !== -1) this.queue.splice(queued, 1);
    else if (job.worker && job.requestId !== undefined) job.worker.cancel(job.requestId);
    // The slot stays taken until the host confirms or answers: one request at a time means it.
    this.finish(job, { error: workerErrors.cancelled() });
    // A page that started a big download and left must not keep it going (the part is kept for the next caller).
    if (this.queue.length === 0 && this.inFlight.size === 0) this.provisioning?.abort();
    this.armIdle();
  }

  /** Starts the worker if work is waiting, and hands queued jobs to it while it has room. */
  pump(): void {
    if (this.closed || this.state === 'failed') return;
    if (this.queue.length === 0) {
      this.armIdle();
      return;
    }
    this.disarmIdle();
    const worker = this.process;
    if (worker && this.state === 'ready') {
      if (this.restartIfStale(worker)) return;
      while (this.queue.length > 0 && this.inFlight.size < this.settings.concurrency) this.dispatch(worker, this.takeNext());
      return;
    }
    if (worker || this.starting || this.stopping) return; // it will pump again when that settles
    const wait = this.backoffUntil - Date.now();
    if (wait > 0) {
      if (!this.backoffTimer) {
        this.backoffTimer = setTimeout(() => {
          this.backoffTimer = null;
          this.pump();
        }, wait); // not unref'd: requests are waiting on it
      }
      return;
    }
    void this.start();
  }

  /**
   * Takes a new plugin version (hot reload): a crash-looped plugin gets another chance, and a
   * worker running old code is replaced once its in-flight requests are done.
   */
  refresh(plugin: LoadedPlugin): void {
    const changed = plugin.revision !== this.plugin.revision;
    this.plugin = plugin;
    if (!changed) return;
    this.siteCrashes.reset();
    if (this.state === 'failed' && plugin.revision !== this.failedRevision) {
      this.log.info(`Plugin "${this.id}" changed since its crash loop; trying its backend again`);
      this.reset();
      return;
    }
    if (this.process && this.state === 'ready') this.restartIfStale(this.process);
  }

  /** True while the running process is older than the plugin and is being (or will be) replaced. */
  private restartIfStale(worker: WorkerProcess): boolean {
    if (this.runningRevision === this.plugin.revision) return false;
    if (this.inFlight.size === 0) {
      this.log.info(`Plugin "${this.id}" changed; restarting its worker ${worker.pid}`);
      this.setState('stopping', 'plugin changed; restarting');
      void this.terminate(worker, 'reload', this.settings.stopGraceMs);
    }
    return true;
  }

  private dispatch(worker: WorkerProcess, job: Job): void {
    const onChunk = job.onChunk;
    const { id, done } = worker.request(
      job.payload,
      onChunk
        ? (data) => {
            if (!job.settled) onChunk(data);
          }
        : undefined,
    );
    job.requestId = id;
    job.worker = worker;
    this.inFlight.add(job);
    job.timer = setTimeout(() => this.onTimeout(job), this.settings.requestTimeoutMs);
    done.then(
      (result) => {
        this.served += 1;
        this.finish(job, { result });
      },
      (error: Error) => {
        if (error instanceof WorkerExitError && (!error.exit.expected || this.breaches.has(worker))) this.crashedJobs.set(worker, [...(this.crashedJobs.get(worker) ?? []), job]);
        this.finish(job, { error: this.translate(error, worker) });
      },
    ).finally(() => {
      clearTimeout(job.timer);
      this.inFlight.delete(job);
      this.pump();
    });
  }

  private translate(error: Error, worker: WorkerProcess): Error {
    if (error instanceof BackendError) return workerErrors.backend(this.id, error.failure.type, error.failure.message);
    if (error instanceof WorkerCancelledError) return workerErrors.cancelled();
    if (error instanceof AnswerTooLargeError) {
      // Not a crash: the answer was skipped and the worker is still in step and serving.
      this.log.warn(`Plugin "${this.id}" worker ${worker.pid} answered with more than ${formatBytes(error.limitBytes)}; that call failed with result_too_large, the worker stays up`);
      return workerErrors.resultTooLarge(this.id, error.limitBytes);
    }
    const breach = this.breaches.get(worker);
    if (error instanceof WorkerExitError && breach) return this.breachError(breach);
    if (error instanceof WorkerExitError) {
      if (!error.exit.expected) return workerErrors.crashed(this.id, withStderr(error.message, error.stderr));
      if (this.killReason === 'shutdown') return workerErrors.shuttingDown();
      return workerErrors.restarted(this.id, this.killReason === 'timeout' ? 'another request timed out' : this.killReason === 'reload' ? 'the plugin changed' : 'it was unloaded');
    }
    return error;
  }

  private breachError(breach: LimitBreach): Error {
    return breach.kind === 'memory' ? workerErrors.memoryExceeded(this.id, breach.capMb, breach.usedMb) : workerErrors.cpuExceeded(this.id, breach.budgetSeconds);
  }

  /** A watchdog sample: a worker over its memory cap, or a call over its CPU budget, is killed. */
  private onUsage(worker: WorkerProcess, usage: TreeUsage): void {
    if (!worker.isAlive() || this.breaches.has(worker)) return;
    const breach = memoryBreach(usage, this.settings.maxMemoryMb) ?? this.cpuBreachOf(worker, usage);
    if (!breach) return;
    this.breaches.set(worker, breach);
    this.lastError = describeBreach(breach);
    this.log.error(`Plugin "${this.id}" worker ${worker.pid} ${this.lastError}; killing it`);
    this.setState('stopping', this.lastError);
    void worker.kill();
  }

  private cpuBreachOf(worker: WorkerProcess, usage: TreeUsage): LimitBreach | null {
    if (this.settings.requestCpuMs <= 0) return null;
    for (const job of this.inFlight) {
      if (job.worker !== worker) continue;
      // Charged from the first sample after dispatch: never for start-up or an earlier call, at
      // the price of up to one sample interval of this call going uncounted.
      job.cpuStartMs ??= usage.cpuMs;
      const breach = cpuBreach(usage.cpuMs - job.cpuStartMs, this.settings.requestCpuMs);
      if (breach) return breach;
    }
    return null;
  }

  private onTimeout(job: Job): void {
    const worker = job.worker;
    const seconds = Math.round(this.settings.requestTimeoutMs / 100) / 10;
    this.finish(job, { error: workerErrors.timeout(this.id, seconds) });
    // A page's call that ran to the timeout counts for its site as a crash does: input that keeps
    // the worker busy for minutes (a decoder's worst case) could otherwise be sent without end (helper-80).
    if (job.site !== undefined) this.refuseSites(this.siteCrashes.charge([job.site], Date.now()));
    if (!worker || worker !== this.process || !worker.isAlive()) return;
    this.lastError = `a request timed out after ${seconds} s`;
    this.log.warn(`Plugin "${this.id}" did not answer within ${seconds} s; killing worker ${worker.pid} and restarting it`);
    this.setState('stopping', 'request timed out; restarting');
    void this.terminate(worker, 'timeout', 0);
  }

  /** Stops a process on purpose; in-flight jobs are answered by `translate` with the reason. */
  private terminate(worker: WorkerProcess, reason: KillReason, graceMs: number): Promise<void> {
    this.killReason = reason;
    this.disarmIdle();
    this.stopping = (async () => {
      await (graceMs > 0 ? worker.stop(graceMs) : worker.kill());
      if (this.process === worker) this.process = null;
      this.startedAt = null;
      this.stopping = null;
      if (!this.closed) this.setState('idle', { idle: 'unloaded after keep-alive', timeout: 'killed after a timeout', reload: 'plugin changed', unload: 'stopped', shutdown: 'stopped' }[reason]);
      this.pump();
    })();
    return this.stopping;
  }

  private async start(): Promise<void> {
    this.starting = true;
    const plugin = this.plugin;
    const entry = plugin.manifest.inference?.local_entry;
    let worker: WorkerProcess | null = null;
    try {
      if (!entry) throw workerErrors.noLocalBackend(this.id);
      this.setState('provisioning');
      let modelPaths: Record<string, string>;
      const provisioning = new AbortController();
      this.provisioning = provisioning;
      try {
        modelPaths = await this.options.provisionModels(plugin, AbortSignal.any([this.lifetime, provisioning.signal]));
      } catch (error) {
        if (provisioning.signal.aborted && !this.closed) {
          this.setState('idle', 'model download stopped: no request is waiting for it any more');
          // A request that came in meanwhile starts it again, from the part on disk.
          queueMicrotask(() => this.pump());
          return;
        }
        throw error instanceof ApiError ? error : workerErrors.modelsUnavailable(this.id, (error as Error).message);
      } finally {
        this.provisioning = null;
      }
      if (this.closed) return;
      let command;
      try {
        command = backendCommand({
          pluginDir: plugin.dir,
          localEntry: entry,
          python: this.options.python ?? 'python3',
          ...(this.options.node ? { node: this.options.node } : {}),
          concurrency: this.settings.concurrency,
          maxMemoryMb: this.settings.maxMemoryMb,
          parentPid: process.pid,
          inFd: REQUEST_FD,
          outFd: ANSWER_FD,
        });
      } catch (error) {
        if (error instanceof UnsupportedBackendError) throw workerErrors.unsupported(this.id, error.message);
        throw error;
      }
      const env = buildWorkerEnv({
        plugin,
        modelPaths,
        modelsDir: this.options.modelsDir,
        base: this.options.env ?? process.env,
        secretValues: this.options.secretValues?.() ?? [],
        grantable: this.options.grantableSecrets?.(plugin.id) ?? {},
        passthrough: this.options.envPassthrough ?? [],
      });
      this.setState('starting');
      this.runningRevision = plugin.revision;
      const startedAt = Date.now();
      worker = spawnWorkerProcess({
        command,
        env,
        cwd: plugin.dir,
        onOutput: (stream, line) => (stream === 'stdout' ? this.output.info(line) : this.output.warn(line)),
        onOutputDropped: ({ lines, bytes }, budget) =>
          this.log.warn(
            `Dropped ${lines} lines (${formatBytes(bytes)}) of output from plugin "${this.id}": it printed more than ${budget.lines} lines or ${formatBytes(budget.bytes)} in ${budget.windowMs / 1000} s`,
          ),
        maxMessageBytes: this.settings.maxAnswerBytes,
        ...(this.options.outputBudget ? { outputBudget: this.options.outputBudget } : {}),
        onProtocolError: (problem) => this.log.error(`Plugin "${this.id}" worker sent a bad message: ${problem}`),
      });
      this.process = worker;
      const current = worker;
      const stopWatching = worker.pid === undefined ? undefined : this.watchdog?.watch(worker.pid, (usage) => this.onUsage(current, usage));
      void worker.exited.then((exit) => {
        stopWatching?.();
        this.onExit(current, exit.expected);
      });
      let startupTimer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        startupTimer = setTimeout(() => reject(new Error(`it did not become ready within ${Math.round(this.settings.startupTimeoutMs / 1000)} s`)), this.settings.startupTimeoutMs);
      });
      try {
        await Promise.race([worker.ready, timedOut]);
      } finally {
        clearTimeout(startupTimer);
      }
      if (this.closed) return;
      this.readyProcesses.add(worker);
      this.startedAt = Date.now();
      this.lastError = null;
      this.setState('ready', `pid ${worker.pid} (${worker.runtime}) ready in ${Date.now() - startedAt} ms`);
      this.log.info(`Plugin "${this.id}" worker ${worker.pid} (${worker.runtime}) is ready`);
    } catch (error) {
      this.startFailed(worker, error as Error);
    } finally {
      this.starting = false;
    }
    this.pump();
  }

  private startFailed(worker: WorkerProcess | null, error: Error): void {
    if (this.closed) return;
    const startError = error instanceof ApiError ? error : null;
    if (startError && !worker) {
      // Provisioning or configuration: nothing crashed, the waiting requests just cannot run.
      this.lastError = startError.message;
      this.setState('idle', startError.message);
      this.rejectQueued(startError);
      return;
    }
    const stderr = worker?.stderrTail() ?? [];
    const breach = worker ? this.breaches.get(worker) : undefined;
    if (breach) {
      // Killed by the watchdog while loading (a model too big for the cap): say that, not "SIGKILL".
      if (this.process === worker) this.process = null;
      this.lastError = describeBreach(breach);
      this.rejectQueued(this.breachError(breach));
      this.recordCrash('start failed');
      return;
    }
    const reason = error instanceof WorkerExitError ? error.message.replace(/^The backend failed to start: /, '') : error.message;
    if (worker?.isAlive()) {
      this.killReason = 'timeout';
      void worker.kill();
    }
    if (this.process === worker) this.process = null;
    this.lastError = withStderr(reason, stderr);
    this.log.error(`Plugin "${this.id}" backend failed to start: ${this.lastError}`);
    // Fail the waiting requests now, with the reason: a broken import should not make callers
    // wait through every restart attempt. The next request tries again, after the backoff.
    this.rejectQueued(workerErrors.startFailed(this.id, this.lastError));
    this.recordCrash('start failed');
  }

  private onExit(worker: WorkerProcess, expected: boolean): void {
    if (this.process === worker) this.process = null;
    const breach = this.breaches.get(worker);
    // A kill by the watchdog is expected by the process wrapper, but it is the backend's fault: a crash.
    if ((expected && !breach) || this.closed || !this.readyProcesses.has(worker)) return;
    this.startedAt = null;
    let what = 'crashed';
    if (breach) {
      this.lastError = describeBreach(breach);
      what = breach.kind === 'memory' ? 'over its memory cap' : 'over its CPU budget';
    } else {
      this.lastError = withStderr(`worker ${worker.pid} exited unexpectedly`, worker.stderrTail());
      this.log.error(`Plugin "${this.id}" ${this.lastError}`);
    }
    const sites = this.pagesBehind(worker);
    if (sites) this.chargeSites(sites, what);
    else this.recordCrash(what);
    this.pump();
  }

  /**
   * The sites whose pages' calls ran on a worker when it died, or null when none did or a call of
   * the user's own ran too (the crash is then the plugin's: no page is blamed for the user's input).
   */
  private pagesBehind(worker: WorkerProcess): Set<string> | null {
    const running = [...(this.crashedJobs.get(worker) ?? []), ...[...this.inFlight].filter((job) => job.worker === worker)];
    this.crashedJobs.delete(worker);
    if (running.length === 0 || running.some((job) => job.site === undefined)) return null;
    return new Set(running.map((job) => job.site as string));
  }

  /** Says which sites are now refused, and fails their queued calls. */
  private refuseSites(refused: string[]): void {
    if (refused.length === 0) return;
    for (const site of refused) {
      this.log.warn(`Plugin "${this.id}": calls from ${site} made its worker crash or time out repeatedly; that site's calls are refused for the crash window (reset lifts it)`);
    }
    for (const job of this.queue.filter((queued) => queued.site !== undefined && refused.includes(queued.site))) {
      this.queue.splice(this.queue.indexOf(job), 1);
      this.finish(job, { error: workerErrors.failedForSite(this.id) });
    }
  }

  private chargeSites(sites: Set<string>, what: string): void {
    const now = Date.now();
    this.refuseSites(this.siteCrashes.charge(sites, now));
    const verdict = this.pageCrashBackoff.record(now);
    if (verdict.action !== 'restart') return;
    this.backoffUntil = now + verdict.delayMs;
    this.setState('backoff', `${what} during a page's call (${[...sites].join(', ')}); restart in ${verdict.delayMs} ms\n${this.lastError ?? ''}`.trim());
  }

  private recordCrash(what: string): void {
    const verdict = this.crashes.record(Date.now());
    if (verdict.action === 'stop') {
      this.markFailed(verdict.recent);
      return;
    }
    this.backoffUntil = Date.now() + verdict.delayMs;
    this.setState('backoff', `${what}; restart in ${verdict.delayMs} ms (crash ${verdict.recent})\n${this.lastError ?? ''}`.trim());
  }

  private markFailed(recent: number): void {
    const reason = this.lastError ?? 'unknown error';
    this.setState('failed', `${recent} crashes in the crash window; stopped until the plugin changes or is reset\n${reason}`);
    this.log.error(`Plugin "${this.id}" stopped after ${recent} crashes; reset it or change its files`);
    this.rejectQueued(workerErrors.failed(this.id, reason));
    this.failedRevision = this.plugin.revision;
  }

  private rejectQueued(error: Error): void {
    for (const job of this.queue.splice(0)) this.finish(job, { error });
  }

  reset(): boolean {
    const wasFailed = this.state === 'failed';
    this.crashes.reset();
    this.siteCrashes.reset();
    this.pageCrashBackoff.reset();
    this.backoffUntil = 0;
    this.failedRevision = null;
    if (this.backoffTimer) clearTimeout(this.backoffTimer);
    this.backoffTimer = null;
    if (wasFailed || this.state === 'backoff') {
      this.lastError = null;
      this.setState('idle', 'reset');
    }
    this.pump();
    return wasFailed;
  }

  private armIdle(): void {
    if (this.idleTimer || this.settings.keepAliveMs <= 0 || !this.process || this.state !== 'ready') return;
    if (this.inFlight.size > 0 || this.queue.length > 0) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      const worker = this.process;
      if (!worker || this.inFlight.size > 0 || this.queue.length > 0 || this.state !== 'ready') return;
      this.log.info(`Plugin "${this.id}" idle for ${Math.round(this.settings.keepAliveMs / 1000)} s; unloading worker ${worker.pid}`);
      this.setState('stopping', 'idle');
      void this.terminate(worker, 'idle', this.settings.stopGraceMs);
    }, this.settings.keepAliveMs);
    this.idleTimer.unref();
  }

  private disarmIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** No process, none starting and no call: nothing would be lost by forgetting this worker. */
  holdsNothing(): boolean {
    return !this.process && !this.starting && this.queue.length === 0 && this.inFlight.size === 0;
  }

  async unload(): Promise<void> {
    const worker = this.process;
    if (this.stopping) return this.stopping;
    if (!worker) return;
    this.setState('stopping', 'unload requested');
    await this.terminate(worker, 'unload', this.settings.stopGraceMs);
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    this.disarmIdle();
    if (this.backoffTimer) clearTimeout(this.backoffTimer);
    this.rejectQueued(workerErrors.shuttingDown());
    const worker = this.process;
    if (!worker) return;
    this.killReason = 'shutdown';
    this.setState('stopping', 'gateway shutdown');
    await worker.stop(this.settings.stopGraceMs);
    this.process = null;
    this.setState('idle', 'stopped');
  }

  /** Last resort at process exit: no time for grace, but never leave a worker behind. */
  killNow(): void {
    this.process?.killNow();
  }
}

// A gateway that exits without stop() (an uncaught error, process.exit) still takes its workers
// along; one listener serves every manager in the process. A gateway killed with SIGKILL relies
// on the hosts noticing that they were orphaned.
const liveManagers = new Set<() => void>();
process.once('exit', () => {
  for (const killAll of liveManagers) killAll();
});

/**
 * The worker manager: runs each plugin's local backend as a child process, spawned lazily on the
 * first request after its models are provisioned, and keeps it healthy — bounded queue, per-request
 * timeout, cancellation, idle unload, crash restarts with backoff, and a crash-loop stop. It is the
 * `local` backend of the inference router.
 *
 * @example
 *   const workers = createWorkerManager({ provisionModels: (plugin, signal) => provisioner.ensure(plugin, { signal }), modelsDir, logger });
 *   const router = createInferenceRouter({ registry, local: workers, cloud });
 *   // on shutdown:
 *   await workers.stop();
 */
export function createWorkerManager(options: WorkerManagerOptions): WorkerManager {
  const requestTimeoutMs = options.requestTimeoutMs ?? 120_000;
  const settings: Settings = {
    keepAliveMs: options.keepAliveMs ?? 5 * 60_000,
    requestTimeoutMs,
    startupTimeoutMs: options.startupTimeoutMs ?? requestTimeoutMs,
    concurrency: Math.max(1, options.concurrency ?? 1),
    queueSize: Math.max(0, options.queueSize ?? 16),
    stopGraceMs: options.stopGraceMs ?? 3000,
    maxMemoryMb: options.maxMemoryMb ?? 0,
    requestCpuMs: options.requestCpuMs ?? 0,
    maxAnswerBytes: options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES,
  };
  const limited = settings.maxMemoryMb > 0 || settings.requestCpuMs > 0;
  const watchdog = limited ? (options.watchdog ?? createResourceWatchdog({ onError: (error) => options.logger.warn(`Worker watchdog sample failed: ${error.message}`) })) : null;
  if (watchdog && !watchdog.available) {
    // Never silent: say which limits are not enforced here and what still applies.
    options.logger.warn(
      `workers.max_memory_mb and workers.request_cpu_seconds are not enforced on ${process.platform}: the worker watchdog reads Linux /proc. Only the Node heap cap and Python's RLIMIT_DATA backstop apply; request_timeout_seconds still does.`,
    );
  }
  const lifetime = new AbortController();
  const workers = new Map<string, PluginWorker>();
  let stopped: Promise<void> | null = null;
  const killAll = () => {
    for (const worker of workers.values()) worker.killNow();
  };
  liveManagers.add(killAll);

  return {
    async infer(plugin, payload, signal, onChunk, limits) {
      if (stopped) throw workerErrors.shuttingDown();
      if (!plugin.manifest.inference?.local_entry) throw workerErrors.noLocalBackend(plugin.id);
      let worker = workers.get(plugin.id);
      if (!worker) {
        worker = new PluginWorker(plugin, options, settings, lifetime.signal, watchdog);
        workers.set(plugin.id, worker);
      }
      return worker.submit(plugin, payload, signal, onChunk, limits?.site);
    },
    list: () => [...workers.values()].map((worker) => worker.status()),
    status: (pluginId) => workers.get(pluginId)?.status(),
    reset: (pluginId) => workers.get(pluginId)?.reset() ?? false,
    unload: async (pluginId) => workers.get(pluginId)?.unload(),
    refresh(pluginId, plugin) {
      const worker = workers.get(pluginId);
      if (!worker) return;
      if (plugin) return worker.refresh(plugin);
      // Gone (removed, renamed, broken): once stopped it leaves the list, unless a call came meanwhile.
      void worker.unload().then(() => {
        if (workers.get(pluginId) === worker && worker.holdsNothing()) workers.delete(pluginId);
      });
    },
    stop() {
      stopped ??= (async () => {
        lifetime.abort();
        await Promise.allSettled([...workers.values()].map((worker) => worker.shutdown()));
        liveManagers.delete(killAll);
      })();
      return stopped;
    },
  };
}
