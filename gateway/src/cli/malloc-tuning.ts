/**
 * Why this exists: a big download through the proxy costs the gateway 2–5 s of CPU per GiB in
 * some runs and ~0.9 s in others. The slow runs are page faults (60–150 thousand per GiB): Node
 * reads every socket chunk into a fresh 64 KiB malloc'd buffer (and its HTTP parser copies the
 * body into another); V8 frees them in batches of tens of MB when it collects; glibc then hands
 * the top of its heap back to the kernel (it keeps only 128 KiB), and the next chunks fault the
 * same pages in again. Keeping 32 MiB at the top of the heap (`glibc.malloc.top_pad`) ends the
 * churn: measured ~1 thousand faults and 0.8–1.2 s per GiB after the first transfer
 * (bench/proxy, "Big transfers"). The cost is at most that much freed memory kept resident
 * after a burst; untouched, it takes no RAM.
 *
 * glibc reads its tunables only as a process starts, so this applies where the CLI execs the
 * gateway itself (env-handoff's relaunch, which `aiplugs start` from a shell takes). Other C
 * libraries ignore the variable; a user who set their own allocator options keeps them as they are.
 */

/** The C library's start-up settings (glibc ≥ 2.26). */
export const MALLOC_TUNABLES_VARIABLE = 'GLIBC_TUNABLES';
/** 32 MiB: enough to cover V8's batches of freed read buffers; trimmed memory beyond it still goes back. */
export const GATEWAY_MALLOC_TUNABLES = 'glibc.malloc.top_pad=33554432';

/** Variables glibc reads at start (GLIBC_TUNABLES and its older MALLOC_*_ aliases): whoever sets one owns the allocator's settings. */
export function isAllocatorVariable(name: string): boolean {
  return name === MALLOC_TUNABLES_VARIABLE || name.startsWith('MALLOC_');
}

/**
 * The exec'd environment of a gateway, with the allocator setting above added on Linux unless
 * the user already chose allocator settings of their own.
 *
 * @example
 *   withGatewayMallocTuning({ PATH: '/bin' }, 'linux'); // → { PATH: '/bin', GLIBC_TUNABLES: 'glibc.malloc.top_pad=33554432' }
 *   withGatewayMallocTuning({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, 'linux'); // unchanged
 */
export function withGatewayMallocTuning(env: Record<string, string>, platform: NodeJS.Platform): Record<string, string> {
  if (platform !== 'linux' || Object.keys(env).some(isAllocatorVariable)) return env;
  return { ...env, [MALLOC_TUNABLES_VARIABLE]: GATEWAY_MALLOC_TUNABLES };
}

/**
 * Gateway side: the setting took effect at exec; dropping it from `process.env` keeps it out of
 * what the gateway starts (a browser's many processes would each keep the padding).
 */
export function forgetGatewayMallocTuning(env: NodeJS.ProcessEnv): void {
  if (env[MALLOC_TUNABLES_VARIABLE] === GATEWAY_MALLOC_TUNABLES) delete env[MALLOC_TUNABLES_VARIABLE];
}
