import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Command, CommandResult } from '../os/run-command.js';
import { installCa, readTrustRecord, trustStoresFor, uninstallCa } from './ca-trust.js';
import { linuxSystemStore, systemAnchorFile, type LinuxSystemLayout } from './linux-system-store.js';
import { adminPromptCommand, appleScriptString, keychainCommands, SYSTEM_KEYCHAIN } from './macos-keychain-store.js';
import { makeTestCa } from './test-ca.js';
import { windowsCommands } from './windows-cert-store.js';

/** Records commands and answers them from a script, so macOS/Windows paths run anywhere. */
function recorder(answer: (command: Command) => Partial<CommandResult>) {
  const calls: Command[] = [];
  return {
    calls,
    run: async (command: Command): Promise<CommandResult> => {
      calls.push(command);
      return { code: 0, stdout: '', stderr: '', ...answer(command) };
    },
  };
}

describe('macOS keychain commands', () => {
  it('asks for admin rights through osascript and quotes paths for sh and AppleScript', () => {
    const command = keychainCommands.add(`/Users/ann/My "odd" dir/it's/ca.pem`);
    assert.equal(command.file, 'osascript');
    assert.equal(command.args[0], '-e');
    assert.equal(
      command.args[1],
      `do shell script "'security' 'add-trusted-cert' '-d' '-r' 'trustRoot' '-k' '/Library/Keychains/System.keychain' '/Users/ann/My \\"odd\\" dir/it'\\\\''s/ca.pem'" with administrator privileges with prompt "AiPlugs wants to trust its local CA certificate for HTTPS interception."`,
    );
  });

  it('the AppleScript literal decodes back to the exact shell script', () => {
    // Decode the AppleScript string the way osascript would, then let sh split it.
    const literal = appleScriptString(`printf '%s\\n' "a\\b"`);
    const decoded = JSON.parse(literal) as string; // AppleScript and JSON escape \ and " the same way
    assert.equal(decoded, `printf '%s\\n' "a\\b"`);
    const script = adminPromptCommand([['printf', '%s|', `it's`, 'a "b"', 'c\\d']], 'p').args[1]!;
    const inner = JSON.parse(script.slice('do shell script '.length, script.indexOf(' with administrator'))) as string;
    assert.equal(execFileSync('sh', ['-c', inner], { encoding: 'utf8' }), `it's|a "b"|c\\d|`);
  });

  it('installs, detects by SHA-1 and removes through the store', async () => {
    const ca = await makeTestCa();
    const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-data-'));
    let installed = false;
    const os = recorder((command) => {
      if (command.file === 'security') return { stdout: installed ? `SHA-1 hash: ${ca.sha1}\nkeychain: "${SYSTEM_KEYCHAIN}"\n` : '' };
      installed = command.args[1]?.includes('add-trusted-cert') ?? installed;
      if (command.args[1]?.includes('delete-certificate')) installed = false;
      return {};
    });
    const options = { dataDir, platform: 'darwin' as const, run: os.run };
    assert.deepEqual((await installCa(ca, ['macos-system'], options)).map((c) => c.outcome), ['added']);
    assert.deepEqual((await uninstallCa(options)).map((c) => c.outcome), ['removed']);
    const removal = os.calls.find((c) => c.args[1]?.includes('delete-certificate'))!;
    assert.match(removal.args[1]!, new RegExp(`'delete-certificate' '-Z' '${ca.sha1}' '/Library/Keychains/System.keychain'`));
    assert.match(removal.args[1]!, /'remove-trusted-cert' '-d' '.*ca\.pem' && /);
  });
});

describe('Windows certutil commands', () => {
  it('uses the user Root store without admin, the machine store with it', () => {
    assert.deepEqual(windowsCommands.add('user', 'C:\\data\\ca.pem'), { file: 'certutil', args: ['-user', '-addstore', 'Root', 'C:\\data\\ca.pem'] });
    assert.deepEqual(windowsCommands.add('machine', 'C:\\data\\ca.pem'), { file: 'certutil', args: ['-addstore', 'Root', 'C:\\data\\ca.pem'] });
    assert.deepEqual(windowsCommands.remove('user', 'AB12'), { file: 'certutil', args: ['-user', '-delstore', 'Root', 'AB12'] });
    assert.deepEqual(windowsCommands.find('user', 'AB12'), { file: 'certutil', args: ['-user', '-store', 'Root', 'AB12'] });
  });

  it('round-trips through the record and removes by thumbprint', async () => {
    const ca = await makeTestCa();
    const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-data-'));
    let present = false;
    const os = recorder((command) => {
      if (command.args.includes('-store')) return { code: present ? 0 : 0x80092004 };
      if (command.args.includes('-addstore')) present = true;
      if (command.args.includes('-delstore')) present = false;
      return {};
    });
    const options = { dataDir, platform: 'win32' as const, run: os.run };
    assert.deepEqual(trustStoresFor(options).map((s) => s.id), ['windows-user', 'windows-machine', 'nss']);
    assert.deepEqual((await installCa(ca, ['windows-user'], options)).map((c) => c.outcome), ['added']);
    assert.equal((await readTrustRecord(dataDir))[0]?.sha1, ca.sha1);
    assert.deepEqual((await uninstallCa(options)).map((c) => c.outcome), ['removed']);
    assert.deepEqual(os.calls.at(-1), { file: 'certutil', args: ['-user', '-delstore', 'Root', ca.sha1] });
  });
});

describe('Linux system store', () => {
  it('needs root, and says how to keep the same data dir under sudo', async () => {
    const ca = await makeTestCa();
    const store = linuxSystemStore({ dataDir: '/home/ann/.local/share/aiplugs', isRoot: () => false, layout: { anchorsDir: ca.dir, suffix: '.crt', refresh: { file: 'true', args: [] } } });
    await assert.rejects(store.add(ca, ca.dir), /sudo aiplugs ca install --store linux-system --data-dir "\/home\/ann\/\.local\/share\/aiplugs"/);
  });

  it('writes one anchor file named after the CA and refreshes the bundle', async () => {
    const ca = await makeTestCa();
    const os = recorder(() => ({}));
    const layout: LinuxSystemLayout = { anchorsDir: ca.dir, suffix: '.crt', refresh: { file: 'update-ca-certificates', args: [] } };
    const store = linuxSystemStore({ dataDir: ca.dir, isRoot: () => true, layout, run: os.run });
    await store.add(ca, ca.dir);
    assert.equal(await readFile(systemAnchorFile(layout, ca), 'utf8'), ca.pem);
    assert.match(systemAnchorFile(layout, ca), /aiplugs-local-ca-[0-9a-f]{16}\.crt$/);
    assert.equal(await store.isTrusted(ca, ca.dir), true);
    await store.remove(ca, ca.dir);
    assert.equal(await store.isTrusted(ca, ca.dir), false);
    assert.deepEqual(os.calls, [layout.refresh, layout.refresh]);
  });
});
