import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertSucceeded, runCommand, type Command, type CommandRunner } from '../os/run-command.js';
import type { CaIdentity } from './ca-identity.js';
import type { TrustStore } from './trust-store.js';

export const SYSTEM_KEYCHAIN = '/Library/Keychains/System.keychain';

/** Quotes one argument for /bin/sh (what `do shell script` runs). */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Escapes text for the inside of an AppleScript string literal. */
export function appleScriptString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * Runs shell commands as root through the standard macOS administrator prompt (the seed's way):
 * `osascript -e 'do shell script "…" with administrator privileges'`. Arguments are shell-quoted,
 * then the whole script is escaped as an AppleScript string, so paths with spaces or quotes are safe.
 */
export function adminPromptCommand(commands: string[][], prompt: string): Command {
  const script = commands.map((argv) => argv.map(shellQuote).join(' ')).join(' && ');
  return { file: 'osascript', args: ['-e', `do shell script ${appleScriptString(script)} with administrator privileges with prompt ${appleScriptString(prompt)}`] };
}

export const keychainCommands = {
  add: (certPath: string): Command =>
    adminPromptCommand([['security', 'add-trusted-cert', '-d', '-r', 'trustRoot', '-k', SYSTEM_KEYCHAIN, certPath]], 'AiPlugs wants to trust its local CA certificate for HTTPS interception.'),
  remove: (certPath: string, sha1: string): Command =>
    adminPromptCommand(
      [
        ['security', 'remove-trusted-cert', '-d', certPath],
        ['security', 'delete-certificate', '-Z', sha1, SYSTEM_KEYCHAIN],
      ],
      'AiPlugs wants to remove its local CA certificate.',
    ),
  find: (): Command => ({ file: 'security', args: ['find-certificate', '-a', '-Z', SYSTEM_KEYCHAIN] }),
};

/** The macOS System keychain, as a trusted root for every user (Safari, Chrome, Edge, curl). */
export function macosKeychainStore(options: { run?: CommandRunner } = {}): TrustStore {
  const run = options.run ?? runCommand;
  return {
    id: 'macos-system',
    label: `macOS System keychain (${SYSTEM_KEYCHAIN})`,
    needsAdmin: true,
    locations: async () => [SYSTEM_KEYCHAIN],
    async isTrusted(ca) {
      const result = await run(keychainCommands.find());
      return result.code === 0 && new RegExp(`SHA-1 hash: ${ca.sha1}\\b`, 'i').test(result.stdout);
    },
    async add(ca) {
      const command = keychainCommands.add(ca.certPath);
      assertSucceeded(command, await run(command));
    },
    async remove(ca) {
      // The CA may have rotated since: remove the exact certificate we recorded, from a temp copy.
      const dir = await mkdtemp(join(tmpdir(), 'aiplugs-ca-'));
      try {
        const file = join(dir, 'ca.pem');
        await writeFile(file, ca.pem);
        const command = keychainCommands.remove(file, ca.sha1);
        assertSucceeded(command, await run(command));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
