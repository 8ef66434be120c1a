import { assertSucceeded, runCommand, type Command, type CommandRunner } from '../os/run-command.js';
import type { CaIdentity } from './ca-identity.js';
import type { TrustStore } from './trust-store.js';

export type WindowsScope = 'user' | 'machine';

/** `certutil` commands on the Root store; `-user` is the current user's store (no admin needed). */
export const windowsCommands = {
  add: (scope: WindowsScope, certPath: string): Command => ({ file: 'certutil', args: [...(scope === 'user' ? ['-user'] : []), '-addstore', 'Root', certPath] }),
  find: (scope: WindowsScope, sha1: string): Command => ({ file: 'certutil', args: [...(scope === 'user' ? ['-user'] : []), '-store', 'Root', sha1] }),
  remove: (scope: WindowsScope, sha1: string): Command => ({ file: 'certutil', args: [...(scope === 'user' ? ['-user'] : []), '-delstore', 'Root', sha1] }),
};

/**
 * The Windows Root store (Chrome, Edge, most programs). The user store needs no admin; Windows
 * shows its own "Do you want to install this certificate?" dialog, which the user must accept.
 */
export function windowsCertStore(scope: WindowsScope, options: { run?: CommandRunner } = {}): TrustStore {
  const run = options.run ?? runCommand;
  const location = scope === 'user' ? 'CurrentUser\\Root' : 'LocalMachine\\Root';
  return {
    id: scope === 'user' ? 'windows-user' : 'windows-machine',
    label: `Windows certificate store (${location})`,
    needsAdmin: scope === 'machine',
    locations: async () => [location],
    async isTrusted(ca: CaIdentity) {
      const result = await run(windowsCommands.find(scope, ca.sha1));
      return result.code === 0;
    },
    async add(ca) {
      const command = windowsCommands.add(scope, ca.certPath);
      assertSucceeded(command, await run(command));
    },
    async remove(ca) {
      const command = windowsCommands.remove(scope, ca.sha1);
      assertSucceeded(command, await run(command));
    },
  };
}
