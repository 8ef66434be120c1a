import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../data/write-file-atomic.js';
import { findOnPath, runCommand, type CommandRunner } from '../os/run-command.js';
import { gnomeProxyBackend } from './gnome-proxy.js';
import { macosProxyBackend } from './macos-proxy.js';
import type { ProxyTarget, SystemProxyBackend } from './proxy-backend.js';
import { windowsProxyBackend } from './windows-proxy.js';

/** What `proxy set` saved: the settings from before, and which gateway the OS now points at. */
const savedStateSchema = z.object({
  backend: z.string(),
  previous: z.unknown(),
  target: z.object({ host: z.string(), port: z.number().int() }),
  /** The gateway that owns the setting: when it is gone (crash), the next start restores. */
  gatewayPid: z.number().int(),
  setAt: z.string(),
});
export type SavedProxyState = z.infer<typeof savedStateSchema>;

export const systemProxyStateFile = (dataDir: string) => join(dataDir, 'system-proxy.json');

export async function readSavedProxyState(dataDir: string): Promise<SavedProxyState | null> {
  try {
    return savedStateSchema.parse(JSON.parse(await readFile(systemProxyStateFile(dataDir), 'utf8')));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${systemProxyStateFile(dataDir)} is unreadable (${(error as Error).message}); \`aiplugs proxy reset --clear\` turns the OS proxy off`);
  }
}

export interface BackendOptions {
  platform?: NodeJS.Platform;
  run?: CommandRunner;
  env?: NodeJS.ProcessEnv;
}

/** The proxy settings backend of this desktop, or null with the reason there is none. */
export async function detectProxyBackend(options: BackendOptions = {}): Promise<{ backend: SystemProxyBackend | null; reason?: string }> {
  const platform = options.platform ?? process.platform;
  const run = options.run ?? runCommand;
  if (platform === 'darwin') return { backend: macosProxyBackend({ run }) };
  if (platform === 'win32') return { backend: windowsProxyBackend({ run }) };
  if (platform !== 'linux') return { backend: null, reason: `no system proxy support on ${platform}` };
  if (!options.run && !(await findOnPath(['gsettings'], { ...process.env, ...options.env }))) {
    return { backend: null, reason: 'gsettings is not installed (GNOME desktops only; on KDE set the proxy in System Settings > Network > Proxy)' };
  }
  const probe = await run({ file: 'gsettings', args: ['list-keys', 'org.gnome.system.proxy'], ...(options.env ? { env: options.env } : {}) }).catch(() => null);
  if (!probe || probe.code !== 0) return { backend: null, reason: 'the GNOME proxy schema (gsettings-desktop-schemas) is not installed' };
  return { backend: gnomeProxyBackend({ run, ...(options.env ? { env: options.env } : {}) }) };
}

export interface SetSystemProxyOptions {
  dataDir: string;
  backend: SystemProxyBackend;
  target: ProxyTarget;
  gatewayPid: number;
}

/**
 * Points the OS at the gateway. The previous settings are saved to `system-proxy.json` before
 * anything changes, so a crash at any point can be undone. Setting it again keeps the first
 * snapshot (the user's real settings), never our own.
 */
export async function setSystemProxy(options: SetSystemProxyOptions): Promise<SavedProxyState> {
  const existing = await readSavedProxyState(options.dataDir);
  const state: SavedProxyState = {
    backend: options.backend.name,
    previous: existing?.backend === options.backend.name ? existing.previous : await options.backend.read(),
    target: options.target,
    gatewayPid: options.gatewayPid,
    setAt: new Date().toISOString(),
  };
  await writeFileAtomic(systemProxyStateFile(options.dataDir), `${JSON.stringify(state, null, 2)}\n`, 0o600);
  await options.backend.apply(options.target);
  return state;
}

/** Puts back the saved settings and forgets them; false when nothing was saved. */
export async function restoreSystemProxy(options: { dataDir: string; backend: SystemProxyBackend }): Promise<boolean> {
  const state = await readSavedProxyState(options.dataDir);
  if (!state) return false;
  if (state.backend !== options.backend.name) throw new Error(`The saved proxy settings are for "${state.backend}", not "${options.backend.name}"`);
  await options.backend.restore(state.previous);
  await rm(systemProxyStateFile(options.dataDir), { force: true });
  return true;
}

export type ResetOutcome = 'restored' | 'cleared' | 'nothing-to-do' | 'foreign-proxy-left';

/**
 * `aiplugs proxy reset` (the seed's `reset_proxy.bat`): restore the saved settings; without a
 * snapshot, turn the OS proxy off when it still points at a loopback proxy (our residue), or
 * always with `clear`.
 */
export async function resetSystemProxy(options: { dataDir: string; backend: SystemProxyBackend; clear?: boolean }): Promise<ResetOutcome> {
  if (await restoreSystemProxy(options)) return 'restored';
  const current = await options.backend.currentLoopbackProxy();
  if (current || options.clear) {
    await options.backend.clear();
    return 'cleared';
  }
  return 'nothing-to-do';
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * On gateway start: if a previous gateway set the system proxy and died without restoring it,
 * restore it now. Returns the restored state, or null.
 */
export async function recoverSystemProxy(options: { dataDir: string; backend: SystemProxyBackend; isAlive?: (pid: number) => boolean }): Promise<SavedProxyState | null> {
  const state = await readSavedProxyState(options.dataDir);
  if (!state || state.gatewayPid === process.pid || (options.isAlive ?? isProcessAlive)(state.gatewayPid)) return null;
  await restoreSystemProxy(options);
  return state;
}
