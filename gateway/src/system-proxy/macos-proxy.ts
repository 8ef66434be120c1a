import { assertSucceeded, runCommand, type Command, type CommandRunner } from '../os/run-command.js';
import { isLoopbackHost, type ProxyTarget, type SystemProxyBackend } from './proxy-backend.js';

type Kind = 'web' | 'secureweb';
interface ProxyState {
  enabled: boolean;
  server: string;
  port: number;
}
type Snapshot = Record<string, Record<Kind, ProxyState>>;

const KINDS: Kind[] = ['web', 'secureweb'];

export const networksetupCommands = {
  list: (): Command => ({ file: 'networksetup', args: ['-listallnetworkservices'] }),
  get: (kind: Kind, service: string): Command => ({ file: 'networksetup', args: [`-get${kind}proxy`, service] }),
  set: (kind: Kind, service: string, server: string, port: number): Command => ({ file: 'networksetup', args: [`-set${kind}proxy`, service, server, String(port)] }),
  state: (kind: Kind, service: string, on: boolean): Command => ({ file: 'networksetup', args: [`-set${kind}proxystate`, service, on ? 'on' : 'off'] }),
};

/** `networksetup -listallnetworkservices` output → enabled services (a leading `*` means disabled). */
export function parseServices(output: string): string[] {
  return output
    .split('\n')
    .slice(1)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('*'));
}

/** `Enabled: Yes / Server: … / Port: …` → state. */
export function parseProxyState(output: string): ProxyState {
  const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(output)?.[1]?.trim() ?? '';
  return { enabled: field('Enabled') === 'Yes', server: field('Server'), port: Number(field('Port')) || 0 };
}

/** macOS: HTTP and HTTPS proxies of every enabled network service, via `networksetup`. */
export function macosProxyBackend(options: { run?: CommandRunner } = {}): SystemProxyBackend {
  const run = options.run ?? runCommand;
  const exec = async (command: Command) => assertSucceeded(command, await run(command)).stdout;
  const services = async () => parseServices(await exec(networksetupCommands.list()));
  return {
    name: 'macos',
    async read() {
      const snapshot: Snapshot = {};
      for (const service of await services()) {
        snapshot[service] = {
          web: parseProxyState(await exec(networksetupCommands.get('web', service))),
          secureweb: parseProxyState(await exec(networksetupCommands.get('secureweb', service))),
        };
      }
      return snapshot;
    },
    async apply(target: ProxyTarget) {
      for (const service of await services()) {
        for (const kind of KINDS) await exec(networksetupCommands.set(kind, service, target.host, target.port));
      }
    },
    async restore(snapshot) {
      for (const [service, kinds] of Object.entries(snapshot as Snapshot)) {
        for (const kind of KINDS) {
          const saved = kinds[kind];
          if (saved.server) await exec(networksetupCommands.set(kind, service, saved.server, saved.port));
          await exec(networksetupCommands.state(kind, service, saved.enabled));
        }
      }
    },
    async clear() {
      for (const service of await services()) for (const kind of KINDS) await exec(networksetupCommands.state(kind, service, false));
    },
    async currentLoopbackProxy() {
      for (const service of await services()) {
        const state = parseProxyState(await exec(networksetupCommands.get('web', service)));
        if (state.enabled && isLoopbackHost(state.server)) return { host: state.server, port: state.port };
      }
      return null;
    },
  };
}
