import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { detectProxyBackend } from '../../gateway/src/system-proxy/system-proxy.js';
import { startGatewayProcess } from '../support/gateway-process.js';
import { skipUnlessInstalled, TOOLS } from '../../test/support/required-tools.js';
import { runCli } from './run-cli.js';

// Every test spawns real Node processes; a busy 2-core machine needs more than the default minute.
test.describe.configure({ timeout: 120_000 });

// GNOME settings for real, in a throw-away keyfile (no D-Bus, nothing of the machine's touched).
let xdg: string;
let env: NodeJS.ProcessEnv;
const gs = (...args: string[]) => execFileSync('gsettings', args, { env: { ...process.env, ...env }, encoding: 'utf8' }).trim();

test.beforeAll(async () => {
  xdg = await mkdtemp(join(tmpdir(), 'aiplugs-gsettings-'));
  env = { GSETTINGS_BACKEND: 'keyfile', XDG_CONFIG_HOME: xdg };
  test.skip(process.platform !== 'linux', 'GNOME proxy settings are a Linux desktop thing');
  const missing = await skipUnlessInstalled(TOOLS.gsettings, TOOLS.gnomeProxySchema);
  test.skip(missing !== false, `GNOME proxy settings not available here: ${missing}`);
  const { backend, reason } = await detectProxyBackend({ env });
  expect(backend, `GNOME proxy backend not detected: ${reason}`).not.toBeNull();
});
test.afterAll(async () => rm(xdg, { recursive: true, force: true }));

test('proxy set points GNOME at the gateway; stopping the gateway restores; proxy reset restores by hand', async () => {
  gs('set', 'org.gnome.system.proxy', 'mode', 'auto');
  const gateway = await startGatewayProcess({ env });
  try {
    const args = ['--data-dir', gateway.dataDir];
    const set = await runCli(['proxy', 'set', ...args], env);
    expect(set.code, set.stderr).toBe(0);
    expect(gs('get', 'org.gnome.system.proxy', 'mode')).toBe("'manual'");
    expect(gs('get', 'org.gnome.system.proxy.https', 'port')).toBe(String(gateway.ready.proxyPort));
    expect(JSON.parse((await runCli(['proxy', 'status', '--json', ...args], env)).stdout)).toMatchObject({ backend: 'gnome', currentLoopbackProxy: { port: gateway.ready.proxyPort } });

    // By hand…
    expect((await runCli(['proxy', 'reset', ...args], env)).stdout).toContain('Restored');
    expect(gs('get', 'org.gnome.system.proxy', 'mode')).toBe("'auto'");

    // …and by the gateway itself when it stops.
    await runCli(['proxy', 'set', ...args], env);
    expect(gs('get', 'org.gnome.system.proxy', 'mode')).toBe("'manual'");
    expect((await runCli(['stop', ...args], env)).code).toBe(0);
    expect(gs('get', 'org.gnome.system.proxy', 'mode')).toBe("'auto'");
    expect(existsSync(join(gateway.dataDir, 'system-proxy.json'))).toBe(false);
  } finally {
    await gateway.stop();
  }
});

test('after a crash (kill -9), the next start restores the settings', async () => {
  gs('set', 'org.gnome.system.proxy', 'mode', 'none');
  const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-crash-'));
  try {
    const crashed = await startGatewayProcess({ dataDir, env, args: ['--system-proxy'] });
    await expect.poll(() => gs('get', 'org.gnome.system.proxy', 'mode')).toBe("'manual'");
    process.kill(crashed.pid, 'SIGKILL'); // the gateway itself, not a launcher in front of it
    await new Promise((resolve) => crashed.child.once('exit', resolve));
    expect(gs('get', 'org.gnome.system.proxy', 'mode')).toBe("'manual'");

    const doctor = JSON.parse((await runCli(['doctor', '--json', '--data-dir', dataDir], env)).stdout);
    expect(doctor.findings.some((finding: { check: string; level: string }) => finding.check === 'proxy-residue' && finding.level === 'error')).toBe(true);

    const next = await startGatewayProcess({ dataDir, env });
    expect(gs('get', 'org.gnome.system.proxy', 'mode')).toBe("'none'");
    expect(next.log()).toContain('Restored the system proxy settings');
    await next.stop();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
