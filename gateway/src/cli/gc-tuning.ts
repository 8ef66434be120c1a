import { setFlagsFromString } from 'node:v8';

/**
 * Why this exists: V8 collects the young generation with helper threads by default (parallel
 * scavenge). The gateway's young objects are mostly one request's, and on the two-core machines
 * it is measured on, with the browser and the sites' servers wanting the same cores, handing each
 * collection to helper threads cost more CPU than doing it on the main thread: 30 alternating
 * blocks of 1,000 injected documents, twice, median 0.64 against 0.71 and 0.73 ms of CPU per
 * document (passed-through requests, which allocate less: 0.30 against 0.31 ms). Old-generation
 * marking and sweeping stay concurrent, so long collections still leave the main thread alone;
 * a scavenge of the gateway's young generation takes a few milliseconds on one thread.
 *
 * Applied by the commands that run a gateway in their own process (`aiplugs start`, `aiplugs
 * browser`): a process that embeds the gateway (the Playwright helper) keeps its own V8 settings.
 * A user's own choice on the command line (any spelling of `--parallel-scavenge`,
 * `--single-threaded-gc`, `--single-threaded` or `--predictable`; Node refuses them in
 * NODE_OPTIONS) wins.
 */
export const GATEWAY_GC_FLAGS = ['--no-parallel-scavenge'] as const;

/** V8 flags that decide the same thing; V8 also takes `_` for `-` and `--noflag` for `--no-flag`. */
const USER_CHOICES = new Set(['parallel-scavenge', 'single-threaded-gc', 'single-threaded', 'predictable']);

const flagName = (argument: string): string => argument.replace(/^--(no-?)?/, '').split('=')[0]!.replaceAll('_', '-');

/** The V8 flags to set in a gateway process started with these Node arguments. */
export function gatewayGcFlags(execArgv: readonly string[]): readonly string[] {
  return execArgv.some((argument) => argument.startsWith('--') && USER_CHOICES.has(flagName(argument))) ? [] : GATEWAY_GC_FLAGS;
}

/** Sets them in this process (V8 reads this one at each collection, so setting it after start-up holds). */
export function tuneGarbageCollector(): void {
  for (const flag of gatewayGcFlags(process.execArgv)) setFlagsFromString(flag);
}
