import type { Command } from 'commander';
import { findRunningGateway } from '../../browser/gateway-link.js';
import { detectProxyBackend, readSavedProxyState, resetSystemProxy, setSystemProxy } from '../../system-proxy/system-proxy.js';
import { CliError, EXIT } from '../cli-error.js';
import { addDataDirOption, addJsonOption, cliDataDir, print, printJson, type DataDirFlags } from './cli-context.js';

async function backendOrFail() {
  const { backend, reason } = await detectProxyBackend();
  if (!backend) throw new CliError(EXIT.failure, `System proxy mode is not available here: ${reason}`);
  return backend;
}

/** `aiplugs proxy set|reset|status`: opt-in system proxy mode for browsers without the extension. */
export function registerProxyCommand(program: Command): void {
  const proxy = program
    .command('proxy')
    .description('system proxy mode (opt-in): point the OS proxy settings at the gateway, and undo it')
    .addHelpText(
      'after',
      '\nWindows: per-user registry (Internet Settings); macOS: networksetup for every enabled network service; Linux: GNOME gsettings.\nThe previous settings are saved first; the gateway restores them when it stops, and after a crash on its next start.',
    );

  const set = proxy.command('set').description('save the current OS proxy settings, then point them at the running gateway');
  addDataDirOption(set);
  set.action(async (flags: DataDirFlags) => {
    const dataDir = cliDataDir(flags);
    const running = await findRunningGateway(dataDir);
    if (!running) throw new CliError(EXIT.notRunning, 'No gateway is running: start it first (aiplugs start), or use `aiplugs start --system-proxy`');
    const backend = await backendOrFail();
    await setSystemProxy({ dataDir, backend, target: { host: '127.0.0.1', port: running.runtime.proxyPort }, gatewayPid: running.runtime.pid });
    print(
      `System proxy (${backend.name}) now points at ${running.runtime.proxyUrl}.`,
      'Browsers that use the system settings need to trust the CA: see `aiplugs ca install`.',
      'Undo with `aiplugs proxy reset` (the gateway also undoes it when it stops).',
    );
  });

  const reset = proxy
    .command('reset')
    .description('restore the OS proxy settings saved by `proxy set`; without a snapshot, turn off a proxy left pointing at 127.0.0.1')
    .option('--clear', 'turn the OS proxy off even when it points elsewhere');
  addDataDirOption(reset);
  reset.action(async (flags: DataDirFlags & { clear?: boolean }) => {
    const outcome = await resetSystemProxy({ dataDir: cliDataDir(flags), backend: await backendOrFail(), clear: flags.clear ?? false });
    const words = {
      restored: 'Restored the OS proxy settings from before `aiplugs proxy set`.',
      cleared: 'Turned the OS proxy off.',
      'nothing-to-do': 'Nothing to reset: no saved settings, and the OS proxy does not point at a loopback proxy (use --clear to turn it off anyway).',
      'foreign-proxy-left': 'Left the OS proxy alone.',
    } as const;
    print(words[outcome]);
  });

  const status = proxy.command('status').description('show whether the OS proxy points at the gateway');
  addDataDirOption(status);
  addJsonOption(status);
  status.action(async (flags: DataDirFlags) => {
    const saved = await readSavedProxyState(cliDataDir(flags));
    const { backend, reason } = await detectProxyBackend();
    const current = backend ? await backend.currentLoopbackProxy().catch(() => null) : null;
    if (flags.json) {
      printJson({ available: backend !== null, reason: reason ?? null, backend: backend?.name ?? null, saved, currentLoopbackProxy: current });
      return;
    }
    if (!backend) print(`System proxy mode is not available here: ${reason}`);
    else print(`OS proxy (${backend.name}): ${current ? `points at ${current.host}:${current.port}` : 'not pointing at a loopback proxy'}`);
    print(saved ? `Saved by \`aiplugs proxy set\` at ${saved.setAt} for gateway pid ${saved.gatewayPid}; \`aiplugs proxy reset\` restores it.` : 'No saved settings (system proxy mode is off).');
  });
}
