/**
 * Why this exists: a big download through the proxy cost the gateway 2–4 s of CPU per GiB in
 * some runs and ~1 s in others. The slow runs were page faults (60–150 thousand per GiB): Node
 * reads every socket chunk into a fresh 64 KiB malloc'd buffer (and its HTTP parser copies the
 * body into another); V8 frees them in batches of tens of MB when it collects; glibc then hands
 * the top of its heap back to the kernel (it keeps only 128 KiB), and the next chunks fault the
 * same pages in again. Keeping 32 MiB at the top of the heap (`glibc.malloc.top_pad`) ends that
 * for passed-through bodies: ~1 thousand faults and 0.9–1.5 s per GiB after a fresh gateway's
 * first big transfer (bench/proxy, "Big transfers"). The cost is freed memory kept resident after
 * a burst, up to that much per malloc arena (the main one, and each of the few threads' that
 * allocate); untouched padding takes no RAM.
 *
 * glibc reads its tunables only as a process starts, so this applies where the CLI execs the
 * gateway itself (env-handoff's relaunch, which `aiplugs start` from a shell takes). Other C
 * libraries ignore the variable. A user's own malloc settings win: then nothing is added.
 */

/** The C library's start-up settings (glibc ≥ 2.26): `name=value` pairs joined by `:`. */
export const MALLOC_TUNABLES_VARIABLE = 'GLIBC_TUNABLES';
/** 32 MiB: enough to cover V8's batches of freed read buffers; trimmed memory beyond it still goes back. */
export const GATEWAY_MALLOC_TUNABLE = 'glibc.malloc.top_pad=33554432';
/** Set in the gateway's exec'd environment when the launcher added the setting, so the gateway knows to take it back out. */
const ADDED_MARKER = 'AIPLUGS_MALLOC_TUNED';
/** glibc's older variables for the same settings (each one a `glibc.malloc.*` tunable). */
const GLIBC_MALLOC_VARIABLES = new Set([
  'MALLOC_ARENA_MAX', 'MALLOC_ARENA_TEST', 'MALLOC_CHECK_', 'MALLOC_MMAP_MAX_', 'MALLOC_MMAP_THRESHOLD_', 'MALLOC_PERTURB_', 'MALLOC_TOP_PAD_', 'MALLOC_TRIM_THRESHOLD_',
]);

/** Variables the C library reads as a process starts: they belong in an exec'd environment, not in a hand-over. */
export function isAllocatorVariable(name: string): boolean {
  return name === MALLOC_TUNABLES_VARIABLE || GLIBC_MALLOC_VARIABLES.has(name);
}

const tunables = (value: string | undefined): string[] => (value ? value.split(':').filter(Boolean) : []);

/**
 * The exec'd environment of a gateway, with the allocator setting above added on Linux: appended
 * to a GLIBC_TUNABLES the user set for other things, and not at all when they chose any malloc
 * setting of their own.
 *
 * @example
 *   withGatewayMallocTuning({ PATH: '/bin' }, 'linux'); // → { PATH: '/bin', GLIBC_TUNABLES: 'glibc.malloc.top_pad=33554432', AIPLUGS_MALLOC_TUNED: '1' }
 *   withGatewayMallocTuning({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, 'linux'); // unchanged
 */
export function withGatewayMallocTuning(env: Record<string, string>, platform: NodeJS.Platform): Record<string, string> {
  const own = tunables(env[MALLOC_TUNABLES_VARIABLE]);
  if (platform !== 'linux' || own.some((tunable) => tunable.startsWith('glibc.malloc.')) || Object.keys(env).some((name) => GLIBC_MALLOC_VARIABLES.has(name))) return env;
  return { ...env, [MALLOC_TUNABLES_VARIABLE]: [...own, GATEWAY_MALLOC_TUNABLE].join(':'), [ADDED_MARKER]: '1' };
}

/**
 * Gateway side: the setting took effect at exec; taking it back out of `process.env` keeps it out
 * of what the gateway starts (a browser's many processes would each keep the padding). What the
 * user set stays.
 */
export function forgetGatewayMallocTuning(env: NodeJS.ProcessEnv): void {
  if (env[ADDED_MARKER] === undefined) return;
  delete env[ADDED_MARKER];
  const own = tunables(env[MALLOC_TUNABLES_VARIABLE]).filter((tunable) => tunable !== GATEWAY_MALLOC_TUNABLE);
  if (own.length > 0) env[MALLOC_TUNABLES_VARIABLE] = own.join(':');
  else delete env[MALLOC_TUNABLES_VARIABLE];
}
