import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { CLI, REPO_ROOT, startGatewayProcess } from '../support/gateway-process.js';
import { runCli } from './run-cli.js';

// Every test spawns real Node and Chromium processes; a busy 2-core machine needs more than the default minute.
test.describe.configure({ timeout: 120_000 });

test('status, plugins list, dashboard and stop drive a running gateway; exit codes mean something', async () => {
  const gateway = await startGatewayProcess();
  const args = ['--data-dir', gateway.dataDir];
  try {
    const status = await runCli(['status', '--json', ...args]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ running: true, apiUrl: gateway.ready.apiUrl, proxyUrl: gateway.ready.proxyUrl, pid: gateway.pid });
    expect((await runCli(['status', '--token', ...args])).stdout.trim()).toBe(await gateway.token());

    const plugins = JSON.parse((await runCli(['plugins', 'list', '--json', ...args])).stdout);
    expect(plugins.source).toContain(gateway.ready.apiUrl);
    expect(plugins.plugins.map((plugin: { id: string }) => plugin.id)).toContain('echo');

    const link = (await runCli(['dashboard', ...args])).stdout.trim();
    expect(link).toMatch(new RegExp(`^${gateway.ready.apiUrl}/login\\?code=[\\w-]{20,}$`));

    const stop = await runCli(['stop', ...args]);
    expect(stop.stdout).toContain(`Stopped the gateway (pid ${gateway.pid})`);
    expect(stop.code).toBe(0);
    await expect.poll(() => gateway.child.exitCode).toBe(0);
    expect(existsSync(join(gateway.dataDir, 'runtime.json'))).toBe(false);

    const after = await runCli(['status', ...args]);
    expect(after.code).toBe(4);
    expect(after.stdout).toContain('not running');
    expect((await runCli(['stop', ...args])).code).toBe(4);
  } finally {
    await gateway.stop();
  }
});

test('output into a pipe whose reader is gone (`aiplugs --help | head -1`, `2>&1 | head -1`) ends quietly, not with a crash', async () => {
  const child = spawn(process.execPath, [CLI, '--help'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy(); // the reader stopped: every write the CLI makes now fails with EPIPE
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  expect(stderr).toBe('');
  expect(code).toBe(0);
  // The same for its errors (`2>&1 | head -1`): a usage error still exits 2, not with a crash's 1.
  const failing = spawn(process.execPath, [CLI, 'no-such-command'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  failing.stderr.destroy();
  expect(await new Promise<number | null>((resolve) => failing.once('close', resolve))).toBe(2);
});

test('plugins validate reports every manifest problem with its JSON path and exits 5', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'aiplugs-validate-'));
  try {
    await mkdir(join(dir, 'good'));
    await writeFile(join(dir, 'good/manifest.json'), JSON.stringify({ manifest_version: 3, id: 'good', name: 'Good', version: '1.0.0', content_scripts: [{ matches: ['https://*/*'], js: ['c.js'] }] }));
    await writeFile(join(dir, 'good/c.js'), '');
    await mkdir(join(dir, 'bad'));
    await writeFile(
      join(dir, 'bad/manifest.json'),
      JSON.stringify({ manifest_version: 2, id: 'Bad Id', name: 'Bad', version: '1', content_scripts: [{ matches: ['not a pattern'], js: ['../escape.js'] }], inference: { default_mode: 'local', models: [{ key: '1x', filename: 'm.bin', source_url: 'ftp://x', sha256: 'abc' }] } }),
    );
    const result = await runCli(['plugins', 'validate', dir]);
    expect(result.code).toBe(5);
    for (const path of ['manifest_version', 'id', 'content_scripts[0].matches[0]', 'content_scripts[0].js[0]', 'inference.models[0].key', 'inference.models[0].source_url', 'inference.models[0].sha256']) {
      expect(result.stdout).toContain(`    ${path}: `);
    }
    expect(result.stdout).toContain('✓ good 1.0.0');
    expect(result.stdout).toContain('1 of 2 plugin(s) have problems.');

    const single = await runCli(['plugins', 'validate', join(dir, 'good'), '--json']);
    expect(single.code).toBe(0);
    expect(JSON.parse(single.stdout)).toMatchObject({ valid: true, plugins: [{ id: 'good', valid: true, errors: [] }] });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--help works everywhere and usage errors exit 2', async () => {
  // Each run is a fresh Node process (a few seconds on a busy 2-core machine): give it room.
  test.setTimeout(180_000);
  const commands = [[], ['start'], ['status'], ['stop'], ['dashboard'], ['ca'], ['ca', 'install'], ['ca', 'status'], ['plugins', 'validate'], ['browser'], ['proxy', 'set'], ['proxy', 'reset'], ['doctor']];
  for (let index = 0; index < commands.length; index += 4) {
    const batch = commands.slice(index, index + 4);
    const results = await Promise.all(batch.map((command) => runCli([...command, '--help'])));
    results.forEach((result, i) => {
      expect(result.code, batch[i]!.join(' ')).toBe(0);
      expect(result.stdout).toContain('Usage: aiplugs');
    });
  }
  expect((await runCli(['no-such-command'])).code).toBe(2);
  expect((await runCli(['ca', 'install', '--store', 'nowhere'])).code).toBe(2);
  // A port in hex was taken as another port (0x1610 = 5648), an empty folder as the default one.
  for (const args of [['start', '--api-port', '0x1610'], ['start', '--proxy-port', '8e3'], ['start', '--data-dir', ''], ['status', '--data-dir', ''], ['start', '--plugins-dir', '']]) {
    const result = await runCli(args);
    expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-cli-'));
  const noTty = await runCli(['ca', 'install', '--data-dir', dataDir]);
  expect(noTty.code).toBe(2);
  expect(noTty.stderr).toContain('pass --yes');
  await rm(dataDir, { recursive: true, force: true });
});

test('relative --data-dir, --plugins-dir and --models-dir are taken from the working directory and handed on absolute (ready line, backends)', async () => {
  const cwd = await mkdtemp(join(tmpdir(), 'aiplugs-relative-'));
  await mkdir(join(cwd, 'my-plugins/where'), { recursive: true });
  await writeFile(
    join(cwd, 'my-plugins/where/manifest.json'),
    JSON.stringify({ manifest_version: 3, id: 'where', name: 'Where', version: '1.0.0', inference: { default_mode: 'local', local_entry: 'backend.mjs' } }),
  );
  await writeFile(join(cwd, 'my-plugins/where/backend.mjs'), "import { existsSync } from 'node:fs';\nexport function run() { const dir = process.env.AIPLUGS_PLUGIN_DIR; return { dir, exists: existsSync(`${dir}/manifest.json`) }; }\n");
  const gateway = await startGatewayProcess({ cwd, dataDir: 'state', args: ['--plugins-dir', 'my-plugins', '--models-dir', 'my-models'] });
  try {
    // Read from another directory than the gateway's, as tools do.
    expect(gateway.ready).toMatchObject({ dataDir: join(cwd, 'state'), caCertPath: join(cwd, 'state/ca.pem') });
    expect(existsSync(gateway.ready.caCertPath)).toBe(true);
    const answer = await fetch(`${gateway.ready.apiUrl}/api/plugins/where/infer`, { method: 'POST', headers: { authorization: `Bearer ${await gateway.token()}`, 'content-type': 'application/json' }, body: '{"payload":null}' });
    // The backend runs in its plugin folder: a relative path there named nothing.
    expect(await answer.json()).toEqual({ result: { dir: join(cwd, 'my-plugins/where'), exists: true } });
  } finally {
    await gateway.stop();
    await rm(cwd, { recursive: true, force: true });
  }
});

test('a --plugins-dir that does not exist (or is a file) is one clear line and exit 3, before the CA or token is made', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-no-plugins-'));
  try {
    const missing = await runCli(['start', '--json', '--api-port', '0', '--proxy-port', '0', '--data-dir', dataDir, '--plugins-dir', join(dataDir, 'nope')]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain(`plugins_dir ${join(dataDir, 'nope')}: no such folder`);
    expect(existsSync(join(dataDir, 'ca.pem')) || existsSync(join(dataDir, 'token'))).toBe(false);
    await writeFile(join(dataDir, 'a-file'), 'x');
    const file = await runCli(['start', '--json', '--api-port', '0', '--proxy-port', '0', '--data-dir', dataDir, '--plugins-dir', join(dataDir, 'a-file')]);
    expect([file.code, file.stderr.trim().split('\n').at(-1)]).toEqual([3, `aiplugs: plugins_dir ${join(dataDir, 'a-file')}: not a folder; give --plugins-dir a folder of plugins`]);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
