import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCommand, type Command, type CommandResult } from '../os/run-command.js';
import { macosProxyBackend, networksetupCommands } from './macos-proxy.js';
import { skipUnlessInstalled, TOOLS } from '../../../test/support/required-tools.js';
import { detectProxyBackend, readSavedProxyState, recoverSystemProxy, resetSystemProxy, restoreSystemProxy, setSystemProxy, systemProxyStateFile } from './system-proxy.js';
import { INTERNET_SETTINGS, parseRegValue, windowsProxyBackend } from './windows-proxy.js';

const target = { host: '127.0.0.1', port: 8123 };
const tempDir = () => mkdtemp(join(tmpdir(), 'aiplugs-sysproxy-'));
const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '' });

/** A fake `networksetup` with two enabled services and one disabled. */
function fakeNetworksetup() {
  const state: Record<string, Record<string, { enabled: boolean; server: string; port: number }>> = {
    'Wi-Fi': { web: { enabled: true, server: 'corp-proxy.example', port: 3128 }, secureweb: { enabled: false, server: '', port: 0 } },
    'USB 10/100/1000 LAN': { web: { enabled: false, server: '', port: 0 }, secureweb: { enabled: false, server: '', port: 0 } },
  };
  const calls: string[][] = [];
  const run = async (command: Command): Promise<CommandResult> => {
    calls.push(command.args);
    const [verb = '', service = '', ...rest] = command.args;
    if (verb === '-listallnetworkservices') return ok('An asterisk (*) denotes that a network service is disabled.\nWi-Fi\nUSB 10/100/1000 LAN\n*Bluetooth PAN\n');
    const kind = /^-(?:get|set)(secureweb|web)proxy/.exec(verb)?.[1] ?? '';
    const entry = state[service]![kind]!;
    if (verb.startsWith('-get')) return ok(`Enabled: ${entry.enabled ? 'Yes' : 'No'}\nServer: ${entry.server}\nPort: ${entry.port}\nAuthenticated Proxy Enabled: 0\n`);
    if (verb.endsWith('proxystate')) entry.enabled = rest[0] === 'on';
    else Object.assign(entry, { server: rest[0], port: Number(rest[1]), enabled: true });
    return ok();
  };
  return { state, calls, run };
}

describe('macOS system proxy (networksetup)', () => {
  it('points every enabled service at the gateway and restores each one exactly', async () => {
    const dataDir = await tempDir();
    const fake = fakeNetworksetup();
    const before = structuredClone(fake.state);
    const backend = macosProxyBackend({ run: fake.run });
    await setSystemProxy({ dataDir, backend, target, gatewayPid: 1 });
    assert.deepEqual(fake.calls.filter((args) => args[0]?.startsWith('-set')), [
      ['-setwebproxy', 'Wi-Fi', '127.0.0.1', '8123'],
      ['-setsecurewebproxy', 'Wi-Fi', '127.0.0.1', '8123'],
      ['-setwebproxy', 'USB 10/100/1000 LAN', '127.0.0.1', '8123'],
      ['-setsecurewebproxy', 'USB 10/100/1000 LAN', '127.0.0.1', '8123'],
    ]);
    assert.deepEqual(await backend.currentLoopbackProxy(), target);
    assert.equal(await restoreSystemProxy({ dataDir, backend }), true);
    assert.deepEqual(fake.state['Wi-Fi']!.web, before['Wi-Fi']!.web);
    // networksetup cannot unset a server, only switch it off: what matters is the on/off state.
    const enabled = (state: typeof before) => Object.values(state).flatMap((kinds) => Object.values(kinds).map((entry) => entry.enabled));
    assert.deepEqual(enabled(fake.state), enabled(before));
    assert.equal(existsSync(systemProxyStateFile(dataDir)), false);
  });

  it('builds the documented commands', () => {
    assert.deepEqual(networksetupCommands.state('secureweb', 'Wi-Fi', false), { file: 'networksetup', args: ['-setsecurewebproxystate', 'Wi-Fi', 'off'] });
  });
});

/** A fake `reg` over one registry key. */
function fakeRegistry(initial: Record<string, { type: string; data: string }>) {
  const values = { ...initial };
  const calls: string[][] = [];
  const run = async (command: Command): Promise<CommandResult> => {
    calls.push(command.args);
    const [verb, key, , name = ''] = command.args;
    assert.equal(key, INTERNET_SETTINGS);
    if (verb === 'query') {
      const value = values[name];
      if (!value) return { code: 1, stdout: '', stderr: 'ERROR: The system was unable to find the specified registry key or value.' };
      const shown = value.type === 'REG_DWORD' ? `0x${Number(value.data).toString(16)}` : value.data;
      return ok(`\r\nHKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\r\n    ${name}    ${value.type}    ${shown}\r\n\r\n`);
    }
    if (verb === 'add') values[name] = { type: command.args[5]!, data: command.args[7]! };
    if (verb === 'delete') delete values[name];
    return ok('The operation completed successfully.');
  };
  return { values, calls, run };
}

describe('Windows system proxy (registry)', () => {
  it('sets ProxyServer and ProxyEnable, then restores values and deletes the ones that did not exist', async () => {
    const dataDir = await tempDir();
    const fake = fakeRegistry({ ProxyEnable: { type: 'REG_DWORD', data: '0' }, ProxyOverride: { type: 'REG_SZ', data: '<local>' } });
    const backend = windowsProxyBackend({ run: fake.run });
    await setSystemProxy({ dataDir, backend, target, gatewayPid: 1 });
    assert.deepEqual(fake.calls.filter((args) => args[0] === 'add'), [
      ['add', INTERNET_SETTINGS, '/v', 'ProxyServer', '/t', 'REG_SZ', '/d', '127.0.0.1:8123', '/f'],
      ['add', INTERNET_SETTINGS, '/v', 'ProxyEnable', '/t', 'REG_DWORD', '/d', '1', '/f'],
    ]);
    assert.deepEqual(await backend.currentLoopbackProxy(), target);
    await restoreSystemProxy({ dataDir, backend });
    assert.deepEqual(fake.values, { ProxyEnable: { type: 'REG_DWORD', data: '0' }, ProxyOverride: { type: 'REG_SZ', data: '<local>' } });
    assert.ok(fake.calls.some((args) => args.join(' ') === ['delete', INTERNET_SETTINGS, '/v', 'ProxyServer', '/f'].join(' ')));
  });

  it('reset without a snapshot turns a leftover loopback proxy off (reset_proxy.bat)', async () => {
    const fake = fakeRegistry({ ProxyEnable: { type: 'REG_DWORD', data: '1' }, ProxyServer: { type: 'REG_SZ', data: '127.0.0.1:8080' } });
    assert.equal(await resetSystemProxy({ dataDir: await tempDir(), backend: windowsProxyBackend({ run: fake.run }) }), 'cleared');
    assert.equal(fake.values.ProxyEnable?.data, '0');
    const corp = fakeRegistry({ ProxyEnable: { type: 'REG_DWORD', data: '1' }, ProxyServer: { type: 'REG_SZ', data: 'corp:3128' } });
    assert.equal(await resetSystemProxy({ dataDir: await tempDir(), backend: windowsProxyBackend({ run: corp.run }) }), 'nothing-to-do');
    assert.equal(corp.values.ProxyEnable?.data, '1');
  });

  it('parses reg output', () => {
    assert.deepEqual(parseRegValue('    ProxyEnable    REG_DWORD    0x1\r\n', 'ProxyEnable'), { type: 'REG_DWORD', data: '1' });
    assert.deepEqual(parseRegValue('    ProxyServer    REG_SZ    http=127.0.0.1:1;https=127.0.0.1:2\r\n', 'ProxyServer'), { type: 'REG_SZ', data: 'http=127.0.0.1:1;https=127.0.0.1:2' });
  });
});

describe('GNOME system proxy (real gsettings, keyfile backend)', async () => {
  const env = { GSETTINGS_BACKEND: 'keyfile', XDG_CONFIG_HOME: await tempDir() };
  const skip = process.platform !== 'linux' ? 'Linux only' : await skipUnlessInstalled(TOOLS.gsettings, TOOLS.gnomeProxySchema);
  const detected = await detectProxyBackend({ platform: 'linux', env });
  const gnomeBackend = () => {
    assert.ok(detected.backend, `GNOME proxy backend not detected: ${detected.reason}`);
    return detected.backend;
  };
  const gs = async (...args: string[]) => (await runCommand({ file: 'gsettings', args, env })).stdout.trim();

  it('saves, points at the gateway, restores exactly', { skip }, async () => {
    const backend = gnomeBackend();
    const dataDir = await tempDir();
    await gs('set', 'org.gnome.system.proxy', 'mode', 'auto');
    await gs('set', 'org.gnome.system.proxy.http', 'host', "'corp-proxy'");
    await setSystemProxy({ dataDir, backend, target, gatewayPid: process.pid });
    assert.equal(await gs('get', 'org.gnome.system.proxy', 'mode'), "'manual'");
    assert.equal(await gs('get', 'org.gnome.system.proxy.https', 'host'), "'127.0.0.1'");
    assert.equal(await gs('get', 'org.gnome.system.proxy.https', 'port'), '8123');
    // Setting again must keep the user's snapshot, not save our own settings as "previous".
    await setSystemProxy({ dataDir, backend, target: { ...target, port: 8124 }, gatewayPid: process.pid });
    assert.deepEqual(((await readSavedProxyState(dataDir))?.previous as Record<string, string>)['org.gnome.system.proxy mode'], "'auto'");
    await restoreSystemProxy({ dataDir, backend });
    assert.equal(await gs('get', 'org.gnome.system.proxy', 'mode'), "'auto'");
    assert.equal(await gs('get', 'org.gnome.system.proxy.http', 'host'), "'corp-proxy'");
  });

  it('a start after a crash restores what the dead gateway set', { skip }, async () => {
    const backend = gnomeBackend();
    const dataDir = await tempDir();
    await gs('set', 'org.gnome.system.proxy', 'mode', 'none');
    await setSystemProxy({ dataDir, backend, target, gatewayPid: 999_999_999 });
    assert.equal(await recoverSystemProxy({ dataDir, backend, isAlive: () => true }), null);
    assert.ok(await recoverSystemProxy({ dataDir, backend, isAlive: () => false }));
    assert.equal(await gs('get', 'org.gnome.system.proxy', 'mode'), "'none'");
    assert.equal(existsSync(systemProxyStateFile(dataDir)), false);
  });
});
