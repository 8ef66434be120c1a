import type { Logger } from '../events/logger.js';
import { detectProxyBackend, readSavedProxyState, recoverSystemProxy, restoreSystemProxy } from './system-proxy.js';

/**
 * What the gateway does about system proxy mode on its own: after a crash, the next start puts
 * the user's settings back; on a clean exit, the gateway that owns the setting restores it.
 * Nothing happens (not even detection) unless `system-proxy.json` exists.
 */
export function systemProxyHooks(options: { dataDir: string; logger: Logger; env?: NodeJS.ProcessEnv }) {
  const backendFor = async () => {
    const detected = await detectProxyBackend(options.env ? { env: options.env } : {});
    if (!detected.backend) throw new Error(detected.reason ?? 'no system proxy backend');
    return detected.backend;
  };
  return {
    async recoverAfterCrash(): Promise<void> {
      try {
        if (!(await readSavedProxyState(options.dataDir))) return;
        const restored = await recoverSystemProxy({ dataDir: options.dataDir, backend: await backendFor() });
        if (restored) options.logger.warn(`Restored the system proxy settings that gateway pid ${restored.gatewayPid} changed and did not undo (it exited without cleaning up)`);
      } catch (error) {
        options.logger.error(`Could not restore the system proxy left by an earlier gateway: ${(error as Error).message}; run \`aiplugs proxy reset\``);
      }
    },
    async restoreOnExit(pid: number): Promise<void> {
      try {
        const state = await readSavedProxyState(options.dataDir);
        if (!state || state.gatewayPid !== pid) return;
        await restoreSystemProxy({ dataDir: options.dataDir, backend: await backendFor() });
        options.logger.info('Restored the system proxy settings from before `aiplugs proxy set`');
      } catch (error) {
        options.logger.error(`Could not restore the system proxy: ${(error as Error).message}; run \`aiplugs proxy reset\``);
      }
    },
  };
}
