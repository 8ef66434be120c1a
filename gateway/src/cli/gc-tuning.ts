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
 * Applied by `aiplugs start` only (the gateway as a program): a process that embeds the gateway
 * keeps its own V8 settings. A user's own choice (`--parallel-scavenge`, `--single-threaded-gc`,
 * on the command line or in NODE_OPTIONS) wins.
 */
export const GATEWAY_GC_FLAGS = ['--no-parallel-scavenge'] as const;

const USER_CHOICES = /--(no-)?(parallel[-_]scavenge|single[-_]threaded[-_]gc)\b/;

/** The V8 flags to set in a gateway process started with these arguments and NODE_OPTIONS. */
export function gatewayGcFlags(execArgv: readonly string[], nodeOptions: string | undefined): readonly string[] {
  return [...execArgv, nodeOptions ?? ''].some((argument) => USER_CHOICES.test(argument)) ? [] : GATEWAY_GC_FLAGS;
}

/** Sets them in this process (V8 reads this one at each collection, so setting it after start-up holds). */
export function tuneGarbageCollector(): void {
  for (const flag of gatewayGcFlags(process.execArgv, process.env.NODE_OPTIONS)) setFlagsFromString(flag);
}
