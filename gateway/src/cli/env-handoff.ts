import { spawn } from 'node:child_process';
import { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { isPassedToWorkers } from '../workers/worker-env.js';
import { forgetGatewayMallocTuning, isAllocatorVariable, withGatewayMallocTuning } from './malloc-tuning.js';

/**
 * Why this exists: `/proc/<pid>/environ` (and `ps eww` on macOS) shows the environment a process
 * was exec'd with, for its whole life; changing `process.env` does not change it. A plugin backend
 * runs as the same user and can read its parent's. So when `aiplugs start` (or `browser`, which
 * may start a gateway) is given secrets, or any variable off the allowlist, in its environment, it
 * runs the long-lived gateway as a child exec'd with the allowlist only, and hands everything else
 * over on a pipe. The launcher stays in front, passing on signals and the exit status; its own
 * environment still holds everything (see SECURITY.md).
 */

/** In the relaunched gateway's environment: the fd on which the launcher hands over the rest. */
export const HANDOFF_FD_VARIABLE = 'AIPLUGS_HANDOFF_FD';
const HANDOFF_FD = 3;
/** An environment block is small; anything bigger on the channel is not ours. */
const MAX_HANDOFF_BYTES = 8 * 1024 * 1024;
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** The commands that run a gateway (and so plugin backends) for longer than a moment. */
const LONG_RUNNING_COMMANDS = new Set(['start', 'browser']);

/** Read by Node or tsx (or, see isAllocatorVariable, the C library) as the process starts, before anything could restore them: kept in the exec'd environment. */
const RUNTIME_NAMES = new Set([
  'NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS', 'NODE_ICU_DATA', 'NODE_NO_WARNINGS', 'NODE_PENDING_DEPRECATION', 'NODE_PRESERVE_SYMLINKS',
  'NODE_DISABLE_COLORS', 'NODE_TLS_REJECT_UNAUTHORIZED', 'NODE_DEBUG', 'NODE_DEBUG_NATIVE', 'NODE_PATH', 'NODE_V8_COVERAGE',
  'NODE_COMPILE_CACHE', 'NODE_TEST_CONTEXT', 'UV_THREADPOOL_SIZE', 'UV_USE_IO_URING',
]);
const RUNTIME_PREFIXES = ['TSX_'];

/**
 * The handed-over variables, checked as the gateway reads them. zod is imported here, where a
 * gateway already needs it, so the launcher starts without loading it: it spawns the gateway
 * ~0.2 s sooner, which every `aiplugs start` from a shell (whose environment holds more than the
 * allowlist) waits for.
 */
async function parseHandoff(line: string): Promise<Record<string, string>> {
  const { z } = await import('zod');
  return z.record(z.string(), z.string()).parse(JSON.parse(line));
}

/**
 * Splits an environment into what the gateway process is exec'd with (the worker allowlist and
 * Node's start-up variables) and what is handed over on the pipe (everything else, secrets first
 * among them).
 *
 * @example
 *   splitLaunchEnv({ PATH: '/bin', SYSTEM_API_KEY: 'sk-…', NODE_OPTIONS: '--trace-warnings' });
 *   // → { exec: { PATH: '/bin', NODE_OPTIONS: '--trace-warnings' }, handedOver: { SYSTEM_API_KEY: 'sk-…' } }
 */
export function splitLaunchEnv(env: NodeJS.ProcessEnv): { exec: Record<string, string>; handedOver: Record<string, string> } {
  const exec: Record<string, string> = {};
  const handedOver: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || name === HANDOFF_FD_VARIABLE) continue;
    const kept = isPassedToWorkers(name) || RUNTIME_NAMES.has(name) || RUNTIME_PREFIXES.some((prefix) => name.startsWith(prefix)) || isAllocatorVariable(name);
    (kept ? exec : handedOver)[name] = value;
  }
  return { exec, handedOver };
}

/** Only the commands that run a gateway pay for the extra process, and only where environments are readable this way. */
export function needsRelaunch(argv: readonly string[], env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): boolean {
  if (platform === 'win32' || !LONG_RUNNING_COMMANDS.has(argv[2] ?? '') || env[HANDOFF_FD_VARIABLE] !== undefined) return false;
  return Object.keys(splitLaunchEnv(env).handedOver).length > 0;
}

/** Launcher side: runs this same command as a child with the scrubbed environment and waits for it. */
async function relaunch(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { exec, handedOver } = splitLaunchEnv(env);
  const child = spawn(process.execPath, [...process.execArgv, ...argv.slice(1)], {
    env: withGatewayMallocTuning({ ...exec, [HANDOFF_FD_VARIABLE]: String(HANDOFF_FD) }, process.platform),
    stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
    // Its own process group: a terminal's Ctrl-C reaches the launcher only, which passes it on
    // (the gateway takes a second SIGINT, two seconds on, as "stop now").
    detached: true,
  });
  const channel = child.stdio[HANDOFF_FD] as Writable;
  channel.on('error', () => undefined); // the child died before reading: its exit says why
  // Left open: when the launcher dies, even by SIGKILL, the channel closes and the gateway stops.
  channel.write(`${JSON.stringify(handedOver)}\n`);
  const forward = (signal: NodeJS.Signals) => {
    child.kill(signal);
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  // Only under npm (npx, npm start): a gateway started in the background from a shell that then
  // exits (`aiplugs start &`, nohup) is orphaned on purpose and must keep running (helper-81).
  const orphaned = env.npm_command !== undefined ? watchForOrphaning(() => forward('SIGTERM')) : undefined;
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
  });
  if (orphaned) clearInterval(orphaned);
  for (const name of FORWARDED_SIGNALS) process.off(name, forward);
  channel.destroy();
  if (signal) process.kill(process.pid, signal); // end the same way, so a shell sees the same status
  else process.exitCode = code ?? 1;
}

/**
 * Calls `onOrphaned` once when whoever started the launcher has gone: npx (npm exec, then `sh -c`)
 * passes a SIGTERM to the shell only, which dies without passing it on, and the gateway ran on
 * with its ports and runtime.json after the harness had stopped it (helper-77).
 */
function watchForOrphaning(onOrphaned: () => void): NodeJS.Timeout {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onOrphaned();
  }, ORPHAN_CHECK_MS);
  return timer.unref();
}

const ORPHAN_CHECK_MS = 500;

/** Gateway side: reads the handed-over variables (one JSON line), then watches for the launcher going away. */
async function receive(fd: number): Promise<Record<string, string>> {
  const channel = new Socket({ fd, readable: true, writable: false });
  let buffered = '';
  const line = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const newline = buffered.indexOf('\n');
      if (newline !== -1) {
        channel.off('data', onData);
        resolve(buffered.slice(0, newline));
      } else if (buffered.length > MAX_HANDOFF_BYTES) reject(new Error('the launcher sent more than an environment'));
    };
    channel.on('data', onData);
    channel.once('end', () => reject(new Error('the launcher closed the channel before handing over the environment')));
  });
  // The launcher is gone (killed): stop the way a signal would, cleanly.
  channel.once('close', () => process.kill(process.pid, 'SIGTERM'));
  channel.resume();
  channel.unref();
  return parseHandoff(line);
}

/**
 * The CLI's outermost step. In a relaunched gateway: restores the handed-over variables into
 * `process.env` (memory only: the exec'd environment stays scrubbed) and runs `main`. In a
 * launcher: starts that gateway and waits. Otherwise: just runs `main`.
 *
 * @example
 *   await withScrubbedEnvironment(process.argv, async () => (await import('./main.js')).main(process.argv));
 */
export async function withScrubbedEnvironment(argv: readonly string[], main: () => Promise<void>): Promise<void> {
  const fd = process.env[HANDOFF_FD_VARIABLE];
  if (fd !== undefined) {
    delete process.env[HANDOFF_FD_VARIABLE];
    forgetGatewayMallocTuning(process.env);
    Object.assign(process.env, await receive(Number(fd)));
    return main();
  }
  if (needsRelaunch(argv, process.env)) return relaunch(argv, process.env);
  return main();
}
