import { assertSucceeded, runCommand, type Command, type CommandRunner } from '../os/run-command.js';
import { isLoopbackHost, type ProxyTarget, type SystemProxyBackend } from './proxy-backend.js';

export const INTERNET_SETTINGS = 'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings';
const VALUES = ['ProxyEnable', 'ProxyServer', 'ProxyOverride'] as const;
type ValueName = (typeof VALUES)[number];
interface RegValue {
  type: string;
  data: string;
}
/** null: the value did not exist, and restore deletes it again. */
type Snapshot = Record<ValueName, RegValue | null>;

export const regCommands = {
  query: (name: string): Command => ({ file: 'reg', args: ['query', INTERNET_SETTINGS, '/v', name] }),
  add: (name: string, type: string, data: string): Command => ({ file: 'reg', args: ['add', INTERNET_SETTINGS, '/v', name, '/t', type, '/d', data, '/f'] }),
  remove: (name: string): Command => ({ file: 'reg', args: ['delete', INTERNET_SETTINGS, '/v', name, '/f'] }),
};

/** Parses `reg query … /v NAME`: `    NAME    REG_DWORD    0x1`. DWORDs come back as decimal text. */
export function parseRegValue(output: string, name: string): RegValue | null {
  const line = output.split(/\r?\n/).find((row) => row.trim().startsWith(`${name} `));
  const match = line && /^\s*\S+\s+(REG_\w+)\s*(.*)$/.exec(line);
  if (!match) return null;
  const [, type = 'REG_SZ', raw = ''] = match;
  return { type, data: type === 'REG_DWORD' ? String(Number.parseInt(raw.trim(), 16)) : raw.trim() };
}

/**
 * Windows: the per-user WinINet settings (Edge, Chrome and most programs) in the registry, as the
 * seed's `reset_proxy.bat` did. Programs pick the change up on their next connection setup.
 */
export function windowsProxyBackend(options: { run?: CommandRunner } = {}): SystemProxyBackend {
  const run = options.run ?? runCommand;
  const exec = async (command: Command) => assertSucceeded(command, await run(command));
  const read = async (name: ValueName) => {
    const result = await run(regCommands.query(name));
    return result.code === 0 ? parseRegValue(result.stdout, name) : null;
  };
  return {
    name: 'windows',
    async read() {
      const snapshot = {} as Snapshot;
      for (const name of VALUES) snapshot[name] = await read(name);
      return snapshot;
    },
    async apply(target: ProxyTarget) {
      await exec(regCommands.add('ProxyServer', 'REG_SZ', `${target.host}:${target.port}`));
      await exec(regCommands.add('ProxyEnable', 'REG_DWORD', '1'));
    },
    async restore(snapshot) {
      const saved = snapshot as Snapshot;
      for (const name of VALUES) {
        const value = saved[name];
        if (value) await exec(regCommands.add(name, value.type, value.data));
        else if (await read(name)) await exec(regCommands.remove(name));
      }
    },
    async clear() {
      await exec(regCommands.add('ProxyEnable', 'REG_DWORD', '0'));
    },
    async currentLoopbackProxy() {
      if ((await read('ProxyEnable'))?.data !== '1') return null;
      const server = (await read('ProxyServer'))?.data ?? '';
      // Either `host:port` or `http=host:port;https=host:port`.
      const first = server.split(';')[0]?.replace(/^\w+=/, '') ?? '';
      const [host = '', port = '0'] = first.split(':');
      return isLoopbackHost(host) ? { host, port: Number(port) } : null;
    },
  };
}
