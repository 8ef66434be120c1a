import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { detectProxyBackend } from '../../gateway/src/system-proxy/system-proxy.js';
import { runCli } from './run-cli.js';

// Every test spawns real Node and Chromium processes; a busy 2-core machine needs more than the default minute.
test.describe.configure({ timeout: 120_000 });

interface Finding {
  check: string;
  level: string;
  message: string;
  fix?: string;
  autoFixable: boolean;
}

let root: string;
let blocker: Server;
let takenPort: number;

test.beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'aiplugs-doctor-'));
  blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  takenPort = (blocker.address() as { port: number }).port;
});

test.afterAll(async () => {
  await new Promise((resolve) => blocker?.close(resolve));
  await rm(root, { recursive: true, force: true });
});

test('doctor finds planted problems (stale .part, port taken, CA untrusted, proxy residue), each with a fix; --fix repairs the safe ones', async () => {
  const dataDir = join(root, 'data');
  const modelsDir = join(root, 'models');
  const home = join(root, 'home');
  await mkdir(modelsDir, { recursive: true });
  await mkdir(home, { recursive: true });
  const part = join(modelsDir, 'big-model.gguf.part');
  await writeFile(part, Buffer.alloc(1024));
  const old = new Date(Date.now() - 30 * 24 * 3600_000);
  await utimes(part, old, old);
  await writeFile(join(modelsDir, 'fresh.bin.part'), 'still downloading');

  // A gateway that "crashed" after `aiplugs proxy set`: the OS (GNOME, keyfile backend) still points at it.
  const gsettingsEnv = { GSETTINGS_BACKEND: 'keyfile', XDG_CONFIG_HOME: join(root, 'xdg') };
  const gnome = (await detectProxyBackend({ env: gsettingsEnv })).backend !== null && process.platform === 'linux';
  const env = { HOME: home, AIPLUGS_MODELS_DIR: modelsDir, AIPLUGS_API_PORT: String(takenPort), ...gsettingsEnv };
  expect((await runCli(['ca', 'path', '--data-dir', dataDir], env)).code).toBe(0);
  if (gnome) {
    await writeFile(join(dataDir, 'system-proxy.json'), JSON.stringify({ backend: 'gnome', previous: { 'org.gnome.system.proxy mode': "'none'" }, target: { host: '127.0.0.1', port: 9 }, gatewayPid: 999_999_999, setAt: new Date().toISOString() }));
    execFileSync('gsettings', ['set', 'org.gnome.system.proxy', 'mode', 'manual'], { env: { ...process.env, ...gsettingsEnv } });
  }

  const first = await runCli(['doctor', '--json', '--data-dir', dataDir], env);
  expect(first.code).toBe(5);
  const report = JSON.parse(first.stdout) as { ok: boolean; findings: Finding[] };
  expect(report.ok).toBe(false);
  const find = (check: string, level: string) => report.findings.find((finding) => finding.check === check && finding.level === level);

  const port = find('ports', 'error');
  expect(port?.message).toContain(`API port ${takenPort} (configured) is taken`);
  expect(port?.fix).toContain('AIPLUGS_API_PORT');

  const stale = find('stale-parts', 'warn');
  expect(stale?.message).toContain(part);
  expect(stale?.message).not.toContain('fresh.bin.part');
  expect(stale?.autoFixable).toBe(true);

  // Not a problem (`aiplugs browser` needs no store), but listed with how to do it.
  const ca = find('ca', 'optional');
  expect(ca?.message).toContain('The CA is in no trust store');
  expect(ca?.fix).toContain('aiplugs ca install');

  if (gnome) {
    const residue = find('proxy-residue', 'error');
    expect(residue?.message).toContain('gateway pid 999999999, which is gone');
    expect(residue?.fix).toContain('aiplugs proxy reset');
  }
  for (const finding of report.findings.filter((f) => f.level === 'warn' || f.level === 'error')) expect(finding.fix, finding.message).toBeTruthy();

  // The human form says the same, with a fix line under each problem.
  const text = await runCli(['doctor', '--data-dir', dataDir], env);
  expect(text.stdout).toMatch(/✗ \[ports\] API port \d+ \(configured\) is taken[^\n]*\n    fix: /);

  const fixed = await runCli(['doctor', '--fix', '--json', '--data-dir', dataDir], env);
  const after = JSON.parse(fixed.stdout) as { applied: string[]; findings: Finding[] };
  expect(after.applied.join('\n')).toContain('deleted 1 stale .part file(s)');
  expect(existsSync(part)).toBe(false);
  expect(existsSync(join(modelsDir, 'fresh.bin.part'))).toBe(true);
  if (gnome) {
    expect(after.applied.join('\n')).toContain('system proxy: restored');
    expect(execFileSync('gsettings', ['get', 'org.gnome.system.proxy', 'mode'], { env: { ...process.env, ...gsettingsEnv }, encoding: 'utf8' }).trim()).toBe("'none'");
  }
  // What --fix cannot do (a port someone else holds, trusting the CA) is still reported.
  expect(after.findings.some((finding) => finding.check === 'ports' && finding.level === 'error')).toBe(true);
  expect(fixed.code).toBe(5);
});

test('a healthy fresh install: doctor exits 0 and lists the optional steps apart; a missing Python is a problem only when a plugin needs it', async () => {
  const dataDir = join(root, 'fresh-data');
  const home = join(root, 'fresh-home');
  const modelsDir = join(root, 'fresh-models');
  await mkdir(home, { recursive: true });
  await mkdir(modelsDir, { recursive: true });
  const env = { HOME: home, AIPLUGS_MODELS_DIR: modelsDir, XDG_CONFIG_HOME: join(root, 'fresh-xdg'), GSETTINGS_BACKEND: 'keyfile' };
  // The CA exists (as after a first start) but is in no trust store: the fresh-install state.
  expect((await runCli(['ca', 'path', '--data-dir', dataDir], env)).code).toBe(0);

  const healthy = await runCli(['doctor', '--json', '--data-dir', dataDir], env);
  const report = JSON.parse(healthy.stdout) as { ok: boolean; findings: Finding[] };
  const problems = report.findings.filter((finding) => finding.level === 'warn' || finding.level === 'error');
  expect(problems, healthy.stdout).toEqual([]);
  expect(healthy.code).toBe(0);
  expect(report.ok).toBe(true);
  expect(report.findings).toContainEqual(expect.objectContaining({ check: 'ca', level: 'optional' }));
  const text = await runCli(['doctor', '--data-dir', dataDir], env);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/○ \[ca\] The CA is in no trust store[^\n]*\n    how: /);
  expect(text.stdout).toMatch(/No problems found\. \d+ optional step\(s\) marked ○\./);

  // No Python: a problem for the example plugins (heavy-math-solver has a Python backend)...
  const noPython = { ...env, AIPLUGS_WORKERS_PYTHON: join(root, 'no-such-python3') };
  const missing = await runCli(['doctor', '--json', '--data-dir', dataDir], noPython);
  expect(missing.code).toBe(5);
  expect(JSON.parse(missing.stdout).findings).toContainEqual(expect.objectContaining({ check: 'python', level: 'warn', message: expect.stringContaining('the Python backends of heavy-math-solver cannot start') }));
  // ...and only an optional step where no plugin needs it.
  const jsOnly = join(root, 'js-plugins');
  await mkdir(join(jsOnly, 'js-only'), { recursive: true });
  await writeFile(join(jsOnly, 'js-only/manifest.json'), JSON.stringify({ manifest_version: 3, id: 'js-only', name: 'JS only', version: '1.0.0', content_scripts: [{ matches: ['<all_urls>'], js: ['c.js'] }], inference: { default_mode: 'local', local_entry: 'backend.js' } }));
  await writeFile(join(jsOnly, 'js-only/c.js'), '');
  await writeFile(join(jsOnly, 'js-only/backend.js'), 'export function run(payload) { return payload; }');
  const unneeded = await runCli(['doctor', '--json', '--data-dir', dataDir], { ...noPython, AIPLUGS_PLUGINS_DIR: jsOnly });
  expect(JSON.parse(unneeded.stdout).findings).toContainEqual(expect.objectContaining({ check: 'python', level: 'optional' }));
  expect(unneeded.code).toBe(0);
});
