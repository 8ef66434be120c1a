import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { expect, test } from '@playwright/test';
import { CLI, REPO_ROOT, startGatewayProcess, type GatewayChild } from '../support/gateway-process.js';
import { runCli, type CliResult } from './run-cli.js';

// Lifecycle cases of issue #14: one gateway per data dir, a busy pinned port, a killed gateway's
// lock, hot reload after rename-replace. Real CLI processes on a busy 2-core machine: room to run.
test.describe.configure({ timeout: 180_000 });

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** `aiplugs …` that must end by itself: killed (and failed) if it is still running after `ms`. */
async function runCliBounded(args: string[], env: NodeJS.ProcessEnv = {}, ms = 90_000): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

const readRuntime = async (dataDir: string) => JSON.parse(await readFile(join(dataDir, 'runtime.json'), 'utf8')) as { pid: number; apiUrl: string };

test('a stop signal delivered twice at once (timeout(1), a harness signalling the child and its group) stops the gateway cleanly', async () => {
  // Before, the second one hit the default action half-way through the stop: killed by the signal, runtime.json left behind.
  const gateway = await startGatewayProcess();
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => gateway.child.once('exit', (code, signal) => resolve([code, signal])));
  // The second comes as soon as the first is taken, while the gateway stops (two at once may merge into one).
  const echo = (chunk: Buffer) => {
    if (!chunk.toString().includes('Received SIGTERM')) return;
    gateway.child.stderr?.off('data', echo);
    process.kill(gateway.pid, 'SIGTERM');
  };
  gateway.child.stderr?.on('data', echo);
  process.kill(gateway.pid, 'SIGTERM');
  expect(await exited).toEqual([0, null]);
  expect(gateway.log()).toMatch(/Stopped/);
  expect(existsSync(join(gateway.dataDir, 'runtime.json'))).toBe(false);
});

test('a second start on the same data dir exits 1 naming the running gateway; runtime.json, status and stop still find the first', async () => {
  const first = await startGatewayProcess();
  try {
    const second = await runCliBounded(['start', '--json', '--api-port', '0', '--proxy-port', '0', '--data-dir', first.dataDir]);
    expect(second.code, second.stderr).toBe(1);
    expect(second.stderr).toContain(`A gateway is already running for ${first.dataDir} (pid ${first.pid}): API ${first.ready.apiUrl}`);
    expect(second.stderr).toContain('--attach');
    expect(second.stdout).toBe('');
    expect((await readRuntime(first.dataDir)).pid).toBe(first.pid);
    const status = await runCli(['status', '--json', '--data-dir', first.dataDir]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ running: true, pid: first.pid });
    const stop = await runCli(['stop', '--data-dir', first.dataDir]);
    expect(stop.stdout).toContain(`Stopped the gateway (pid ${first.pid})`);
    await expect.poll(() => isAlive(first.pid)).toBe(false);
    expect(existsSync(join(first.dataDir, 'runtime.json'))).toBe(false);
    expect(existsSync(join(first.dataDir, 'gateway.lock'))).toBe(false);
  } finally {
    await first.stop();
  }
});

test('start --attach prints the running gateway ready line and lives as long as it; a signal only detaches', async () => {
  const gateway = await startGatewayProcess();
  const attach = () => {
    const child = spawn(process.execPath, [CLI, 'start', '--json', '--attach', '--data-dir', gateway.dataDir], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const line = new Promise<Record<string, unknown>>((resolve) => createInterface({ input: child.stdout }).once('line', (text) => resolve(JSON.parse(text) as Record<string, unknown>)));
    return { child, exited, line };
  };
  try {
    const detaching = attach();
    expect(await detaching.line).toEqual({ ...gateway.ready, attached: true, pid: gateway.pid });
    detaching.child.kill('SIGTERM');
    expect(await detaching.exited).toBe(0);
    expect(isAlive(gateway.pid)).toBe(true);
    expect((await runCli(['status', '--data-dir', gateway.dataDir])).code).toBe(0);

    const following = attach();
    expect((await following.line).apiUrl).toBe(gateway.ready.apiUrl);
    expect((await runCli(['stop', '--data-dir', gateway.dataDir])).code).toBe(0);
    expect(await following.exited).toBe(0);
  } finally {
    await gateway.stop();
  }
});

test('a SIGKILLed gateway leaves a lock the next start takes over; runtime.json then names the new one', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-killed-'));
  let second: GatewayChild | null = null;
  try {
    const first = await startGatewayProcess({ dataDir });
    process.kill(first.pid, 'SIGKILL');
    await expect.poll(() => isAlive(first.pid)).toBe(false);
    first.child.kill('SIGKILL'); // its launcher, if it had one
    expect(existsSync(join(dataDir, 'gateway.lock'))).toBe(true);
    expect((await readRuntime(dataDir)).pid).toBe(first.pid);

    second = await startGatewayProcess({ dataDir });
    expect(second.pid).not.toBe(first.pid);
    expect((await readRuntime(dataDir)).pid).toBe(second.pid);
    const status = await runCli(['status', '--json', '--data-dir', dataDir]);
    expect(JSON.parse(status.stdout)).toMatchObject({ running: true, pid: second.pid, apiUrl: second.ready.apiUrl });
  } finally {
    await second?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a pinned port another program holds: exit 1 before any slow start-up work, with how to find the holder', async () => {
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-busy-'));
  try {
    const result = await runCliBounded(['start', '--api-port', String(port), '--proxy-port', '0', '--data-dir', dataDir]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain(`aiplugs: API port ${port} is already in use by another program`);
    expect(result.stderr).toContain(`ss -ltnp 'sport = :${port}'`);
    expect(result.stderr).toContain('--api-port N / AIPLUGS_API_PORT=N (0 = any free port)');
    // Failed before the CA was generated, and left nothing that says a gateway runs.
    expect(existsSync(join(dataDir, 'ca.pem'))).toBe(false);
    expect(existsSync(join(dataDir, 'runtime.json'))).toBe(false);
    expect(existsSync(join(dataDir, 'gateway.lock'))).toBe(false);
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('hot reload survives a manifest replaced by rename (sed -i, editors), with one log line per outcome', async () => {
  const pluginsDir = await mkdtemp(join(tmpdir(), 'aiplugs-reload-'));
  const dir = join(pluginsDir, 'renamed');
  await mkdir(dir);
  await writeFile(join(dir, 'content.js'), '// content');
  const manifest = (version: string) => `${JSON.stringify({ manifest_version: 3, id: 'renamed', name: 'Renamed', version, content_scripts: [{ matches: ['<all_urls>'], js: ['content.js'] }] }, null, 2)}\n`;
  const manifestFile = join(dir, 'manifest.json');
  await writeFile(manifestFile, manifest('1.0.0'));
  const gateway = await startGatewayProcess({ args: ['--plugins-dir', pluginsDir] });
  const token = await gateway.token();
  const plugin = async () => (await (await fetch(`${gateway.ready.apiUrl}/api/plugins/renamed`, { headers: { authorization: `Bearer ${token}` } })).json()) as { status: string; version?: string; pending_errors?: string[] };
  const replaceByRename = async (text: string) => {
    await writeFile(`${manifestFile}.tmp`, text);
    await rename(`${manifestFile}.tmp`, manifestFile);
  };
  try {
    await replaceByRename(manifest('1.0.1'));
    await expect.poll(async () => (await plugin()).version, { timeout: 30_000 }).toBe('1.0.1');
    // sed -i replaces the file by rename too; the old watcher lost the file after the first one.
    execFileSync('sed', ['-i', 's/"1.0.1"/"1.0.2"/', manifestFile]);
    await expect.poll(async () => (await plugin()).version, { timeout: 30_000 }).toBe('1.0.2');
    // A later in-place edit that breaks it: seen, and the last good version keeps running.
    await writeFile(manifestFile, '{ "manifest_version": 3, broken');
    await expect.poll(async () => (await plugin()).pending_errors ?? [], { timeout: 30_000 }).toEqual([expect.stringMatching(/invalid JSON/)]);
    expect((await plugin())).toMatchObject({ status: 'enabled', version: '1.0.2' });
    // Fixed by rename again.
    await replaceByRename(manifest('1.0.3'));
    await expect.poll(async () => { const now = await plugin(); return `${now.version}:${now.pending_errors?.length ?? 0}`; }, { timeout: 30_000 }).toBe('1.0.3:0');

    const lines = gateway.log().split('\n').filter((line) => line.includes('Plugin "renamed"'));
    expect(lines.map((line) => line.replace(/^\S+ /, ''))).toEqual([
      'INFO  [plugins] Plugin "renamed" reloaded (version 1.0.1)',
      'INFO  [plugins] Plugin "renamed" reloaded (version 1.0.2)',
      expect.stringMatching(/^WARN {2}\[plugins\] Plugin "renamed" edit is broken \(manifest\.json: invalid JSON .*\); keeping the last good version running$/),
      'INFO  [plugins] Plugin "renamed" reloaded (version 1.0.3)',
    ]);
  } finally {
    await gateway.stop();
    await rm(pluginsDir, { recursive: true, force: true });
  }
});

test('the log goes to logs/gateway.log as documented, and a missing Python is reported at start naming the plugins it stops', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-logs-'));
  try {
    const gateway = await startGatewayProcess({ dataDir, env: { AIPLUGS_WORKERS_PYTHON: join(dataDir, 'no-such-python3') } });
    const logFile = join(dataDir, 'logs', 'gateway.log');
    await expect.poll(async () => readFile(logFile, 'utf8').catch(() => '')).toMatch(/the Python backends of heavy-math-solver cannot start/);
    const log = await readFile(logFile, 'utf8');
    expect(log).toContain(`INFO  [gateway] API listening on ${gateway.ready.apiUrl}`);
    expect(log).not.toContain(await gateway.token());
    expect(await gateway.stop()).toBe(0);
    expect(await readFile(logFile, 'utf8')).toMatch(/INFO {2}\[gateway\] Stopped\n$/);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
