import { assertSucceeded, runCommand, type Command, type CommandRunner } from '../os/run-command.js';
import { isLoopbackHost, type ProxyTarget, type SystemProxyBackend } from './proxy-backend.js';

/** The GNOME keys we save and change, as `[schema, key]`. */
export const GNOME_KEYS: Array<[string, string]> = [
  ['org.gnome.system.proxy', 'mode'],
  ['org.gnome.system.proxy.http', 'host'],
  ['org.gnome.system.proxy.http', 'port'],
  ['org.gnome.system.proxy.https', 'host'],
  ['org.gnome.system.proxy.https', 'port'],
];

export const gsettingsCommands = {
  get: (schema: string, key: string, env?: NodeJS.ProcessEnv): Command => ({ file: 'gsettings', args: ['get', schema, key], ...(env ? { env } : {}) }),
  /** `value` is GVariant text, exactly as `gsettings get` printed it (`'manual'`, `8080`). */
  set: (schema: string, key: string, value: string, env?: NodeJS.ProcessEnv): Command => ({ file: 'gsettings', args: ['set', schema, key, value], ...(env ? { env } : {}) }),
};

/** GVariant text for a string. */
const gvString = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const unquote = (text: string) => text.trim().replace(/^'(.*)'$/s, '$1');

/**
 * GNOME (and desktops reading its settings: Chromium, Chrome, Epiphany on GNOME, Cinnamon,
 * Budgie) via `gsettings`. The snapshot keeps each key's GVariant text so restore is exact.
 */
export function gnomeProxyBackend(options: { run?: CommandRunner; env?: NodeJS.ProcessEnv } = {}): SystemProxyBackend {
  const run = options.run ?? runCommand;
  const env = options.env;
  const get = async (schema: string, key: string) => {
    const command = gsettingsCommands.get(schema, key, env);
    return assertSucceeded(command, await run(command)).stdout.trim();
  };
  const set = async (schema: string, key: string, value: string) => {
    const command = gsettingsCommands.set(schema, key, value, env);
    assertSucceeded(command, await run(command));
  };
  return {
    name: 'gnome',
    async read() {
      const snapshot: Record<string, string> = {};
      for (const [schema, key] of GNOME_KEYS) snapshot[`${schema} ${key}`] = await get(schema, key);
      return snapshot;
    },
    async apply(target: ProxyTarget) {
      for (const schema of ['org.gnome.system.proxy.http', 'org.gnome.system.proxy.https']) {
        await set(schema, 'host', gvString(target.host));
        await set(schema, 'port', String(target.port));
      }
      await set('org.gnome.system.proxy', 'mode', "'manual'");
    },
    async restore(snapshot) {
      const saved = snapshot as Record<string, string>;
      // Mode last, so nothing ever uses a half-restored host/port pair.
      for (const [schema, key] of [...GNOME_KEYS.slice(1), GNOME_KEYS[0]!]) {
        const value = saved[`${schema} ${key}`];
        if (value !== undefined) await set(schema, key, value);
      }
    },
    async clear() {
      await set('org.gnome.system.proxy', 'mode', "'none'");
    },
    async currentLoopbackProxy() {
      if (unquote(await get('org.gnome.system.proxy', 'mode')) !== 'manual') return null;
      const host = unquote(await get('org.gnome.system.proxy.http', 'host'));
      const port = Number(await get('org.gnome.system.proxy.http', 'port'));
      return isLoopbackHost(host) ? { host, port } : null;
    },
  };
}
