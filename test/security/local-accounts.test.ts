/**
 * Security checklist 1 and 5 — another account on the same machine. It can create folders the
 * gateway is later pointed at (`/tmp/…`, a shared disk), plant files in them, and write to any file
 * or folder the gateway leaves writable by others. Each test replays an attack from a black-box
 * audit through the real CLI: the data dir, the models folder and the plugins folder (and each
 * plugin folder) must belong to the user (or root, for the last two) and not be writable by others,
 * and nothing the gateway or `aiplugs plugin new` creates may be writable by others, whatever the umask.
 *
 * Root can chown a folder to any uid without that account existing, so these tests need root
 * (CI runs as root); elsewhere they skip, never under CI=true.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { CLI, REPO_ROOT, startGatewayProcess, type GatewayChild } from '../../e2e/support/gateway-process.js';

/** An account that does not exist: root can still hand it files. */
const OTHER_UID = 12345;
/** `nobody`: the victim when the test needs a non-root user. */
const NOBODY = 65534;
/** The CLI's exit code for a bad configuration (cli-error.ts EXIT.config). */
const EXIT_CONFIG = 3;

const isRoot = process.getuid?.() === 0;
const needsRoot = { skip: !isRoot && process.env.CI !== 'true' ? 'needs root to chown folders to another account' : false };

const scratch: string[] = [];
after(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

async function scratchDir(mode = 0o755): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'aiplugs-accounts-'));
  await chmod(dir, mode);
  scratch.push(dir);
  return dir;
}

/** A plugin with no backend: enough for the registry to load or refuse it. */
async function writePlugin(dir: string, id: string, extra: Record<string, unknown> = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'manifest.json'), JSON.stringify({ manifest_version: 3, id, name: id, version: '1.0.0', ...extra }));
}

async function chownTree(path: string, uid: number): Promise<void> {
  await chown(path, uid, uid);
  if ((await lstat(path)).isDirectory()) for (const name of await readdir(path)) await chownTree(join(path, name), uid);
}

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** True when it printed a ready line (it was then stopped). */
  started: boolean;
}

/** Runs `aiplugs start --json` on any free ports; stops it if it gets as far as ready. */
function runStart(args: string[], options: { uid?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
  const ids = options.uid === undefined ? {} : { uid: options.uid, gid: options.uid };
  const child = spawn(process.execPath, [CLI, 'start', '--json', '--api-port', '0', '--proxy-port', '0', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...ids,
  });
  let stdout = '';
  let stderr = '';
  let started = false;
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (!started && stdout.includes('"event":"ready"')) {
      started = true;
      child.kill('SIGTERM');
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, started });
    }),
  );
}

/** The start was refused as a configuration problem, with one line naming `path` and saying `why`. */
function assertRefused(run: CliRun, path: string, why: RegExp): void {
  assert.equal(run.started, false, `the gateway started:\n${run.stderr}`);
  assert.equal(run.code, EXIT_CONFIG, run.stderr);
  assert.ok(run.stderr.includes(path), `the message names ${path}:\n${run.stderr}`);
  assert.match(run.stderr, why);
}

async function api<T>(gateway: GatewayChild, method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const response = await fetch(`${gateway.ready.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${await gateway.token()}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as T };
}

interface PluginEntry {
  id: string;
  status: 'enabled' | 'error';
  errors?: string[];
}
const listPlugins = async (gateway: GatewayChild) => (await api<PluginEntry[] | { plugins: PluginEntry[] }>(gateway, 'GET', '/api/plugins')).json;
const pluginsOf = (json: PluginEntry[] | { plugins: PluginEntry[] }) => (Array.isArray(json) ? json : json.plugins);

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Every file and folder under `root` (itself included) that accounts other than its owner's group can write. */
async function writableByOthers(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (path: string): Promise<void> => {
    const info = await lstat(path);
    if (info.isSymbolicLink()) return;
    if (info.mode & 0o002) found.push(`${path} (${(info.mode & 0o777).toString(8)})`);
    if (info.isDirectory()) for (const name of await readdir(path)) await walk(join(path, name));
  };
  await walk(root);
  return found;
}

describe('a data dir another account made', needsRoot, () => {
  it('is refused before anything in it is read: no planted token, CA or config is used', async () => {
    const holder = await scratchDir();
    const dataDir = join(holder, 'data');
    await mkdir(dataDir);
    const planted = 'planted-token-0123456789abcdef0123456789abcdef';
    await writeFile(join(dataDir, 'token'), `${planted}\n`);
    const marker = join(holder, 'interpreter-ran');
    const interpreter = join(dataDir, 'python');
    await writeFile(interpreter, `#!/bin/sh\ntouch '${marker}'\nexec python3 "$@"\n`, { mode: 0o755 });
    await writeFile(join(dataDir, 'config.json'), JSON.stringify({ workers: { python: interpreter } }));
    await chownTree(dataDir, OTHER_UID);
    await chmod(dataDir, 0o777);

    assertRefused(await runStart(['--data-dir', dataDir]), dataDir, /another account \(uid 12345\)/);
    assert.equal((await stat(dataDir)).mode & 0o777, 0o777, 'the folder was left as it was (its owner could chmod it back anyway)');
    assert.equal((await readFile(join(dataDir, 'token'), 'utf8')).trim(), planted);
    await assert.rejects(stat(join(dataDir, 'runtime.json')), { code: 'ENOENT' });
    await assert.rejects(stat(join(dataDir, 'ca.pem')), { code: 'ENOENT' });
    await assert.rejects(stat(marker), { code: 'ENOENT' });
  });

  it('is refused through a symlink too', async () => {
    const holder = await scratchDir();
    const dataDir = join(holder, 'data');
    await mkdir(dataDir, { mode: 0o700 });
    await chown(dataDir, OTHER_UID, OTHER_UID);
    const link = join(holder, 'link');
    await symlink(dataDir, link);
    assertRefused(await runStart(['--data-dir', link]), link, /another account \(uid 12345\)/);
  });

  it('is refused inside a folder another account owns, which could swap it for its own at any time', async () => {
    const theirs = await scratchDir();
    const dataDir = join(theirs, 'data');
    await mkdir(dataDir, { mode: 0o700 });
    await chown(theirs, OTHER_UID, OTHER_UID);
    assertRefused(await runStart(['--data-dir', dataDir]), dataDir, new RegExp(`inside ${theirs}, which is owned by another account \\(uid 12345\\)`));
  });

  it("a non-root user is told clearly that root's folder is not theirs (no raw EPERM)", async () => {
    const dataDir = await scratchDir(0o755);
    const home = await scratchDir(0o755);
    await chown(home, NOBODY, NOBODY);
    const run = await runStart(['--data-dir', dataDir], { uid: NOBODY, env: { HOME: home } });
    assertRefused(run, dataDir, /another account \(uid 0\)/);
    assert.doesNotMatch(run.stderr, /EPERM/);
  });
});

describe('`aiplugs ca install` on a data dir another account made', needsRoot, () => {
  // Under sudo (the documented way to install system-wide) it ran as root on any folder it was
  // given: that account's CA became trusted, and with it that account read the user's HTTPS.
  const install = (dataDir: string, home: string, env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [CLI, 'ca', 'install', '--yes', '--store', 'nss', '--data-dir', dataDir], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, SUDO_UID: '', SUDO_GID: '', ...env, HOME: home } });

  async function theirDataDirWithCa(): Promise<string> {
    const dataDir = join(await scratchDir(), 'data');
    const made = spawnSync(process.execPath, [CLI, 'ca', 'path', '--data-dir', dataDir], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    await chownTree(dataDir, OTHER_UID);
    return dataDir;
  }

  it('trusts nothing from it: exit 3, naming the folder, and no trust store touched', async () => {
    const dataDir = await theirDataDirWithCa();
    const home = await scratchDir();
    const run = install(dataDir, home);
    assert.equal(run.status, EXIT_CONFIG, run.stdout + run.stderr);
    assert.ok(run.stderr.includes(dataDir) && /another account \(uid 12345\)/.test(run.stderr), run.stderr);
    await assert.rejects(stat(join(home, '.pki')), { code: 'ENOENT' });
  });

  it('installs it under sudo run by the account whose data dir it is', async () => {
    const dataDir = await theirDataDirWithCa();
    const home = await scratchDir();
    const run = install(dataDir, home, { SUDO_UID: String(OTHER_UID), SUDO_GID: String(OTHER_UID) });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /added to nss/);
  });
});

describe('a models folder another account can write', needsRoot, () => {
  it('owned by another account (a forged verify record in it): the start is refused', async () => {
    const modelsDir = join(await scratchDir(), 'models');
    await mkdir(join(modelsDir, '.aiplugs'), { recursive: true });
    const bytes = Buffer.from('attacker model');
    await writeFile(join(modelsDir, 'big.bin'), bytes);
    const info = await stat(join(modelsDir, 'big.bin'));
    const declared = createHash('sha256').update('the real model').digest('hex');
    await writeFile(join(modelsDir, '.aiplugs/big.bin.verified.json'), JSON.stringify({ size: info.size, mtimeMs: info.mtimeMs, ino: info.ino, sha256: declared }));
    await chownTree(modelsDir, OTHER_UID);
    assertRefused(await runStart(['--models-dir', modelsDir, '--data-dir', await scratchDir(0o700)]), modelsDir, /another account \(uid 12345\)/);
  });

  it('inside a folder every account can write (not sticky, as /tmp is): the start is refused', async () => {
    const holder = await scratchDir(0o777);
    const modelsDir = join(holder, 'models');
    await mkdir(modelsDir);
    assertRefused(await runStart(['--models-dir', modelsDir, '--data-dir', await scratchDir(0o700)]), modelsDir, /inside .*, which is writable by other accounts \(mode 0777\)/);
  });

  it('writable by every account: the start is refused', async () => {
    const modelsDir = join(await scratchDir(), 'models');
    await mkdir(modelsDir);
    await chmod(modelsDir, 0o777);
    assertRefused(await runStart(['--models-dir', modelsDir, '--data-dir', await scratchDir(0o700)]), modelsDir, /writable by other accounts/);
  });

  it('writable by every account: `aiplugs models` refuses it too (`models verify` trusted its records)', async () => {
    const modelsDir = join(await scratchDir(), 'models');
    await mkdir(modelsDir);
    await chmod(modelsDir, 0o777);
    const run = spawnSync(process.execPath, [CLI, 'models', 'list', '--models-dir', modelsDir], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.equal(run.status, EXIT_CONFIG, run.stderr);
    assert.ok(run.stderr.includes(modelsDir) && /writable by other accounts/.test(run.stderr), run.stderr);
  });
});

describe('a plugins folder another account can write', needsRoot, () => {
  it('writable by every account: none of its plugins loads, each says why, and the log too', async () => {
    const pluginsDir = await scratchDir(0o777);
    await writePlugin(join(pluginsDir, 'good'), 'good');
    const gateway = await startGatewayProcess({ args: ['--plugins-dir', pluginsDir] });
    try {
      const good = pluginsOf(await listPlugins(gateway)).find((plugin) => plugin.id === 'good');
      assert.equal(good?.status, 'error', JSON.stringify(good));
      assert.match(good.errors?.join('\n') ?? '', new RegExp(`plugins folder ${pluginsDir}.*writable by other accounts`));
      assert.match(gateway.log(), /Plugin "good" is disabled: .*writable by other accounts/);
    } finally {
      await gateway.stop();
    }
  });

  it("another account's plugin folder is disabled, the user's keep working; one added while running is never loaded", async () => {
    const pluginsDir = await scratchDir(0o755);
    await writePlugin(join(pluginsDir, 'good'), 'good');
    await writePlugin(join(pluginsDir, 'planted'), 'planted');
    await chownTree(join(pluginsDir, 'planted'), OTHER_UID);
    const gateway = await startGatewayProcess({ args: ['--plugins-dir', pluginsDir] });
    try {
      let plugins = pluginsOf(await listPlugins(gateway));
      assert.equal(plugins.find((plugin) => plugin.id === 'good')?.status, 'enabled');
      const planted = plugins.find((plugin) => plugin.id === 'planted');
      assert.equal(planted?.status, 'error', JSON.stringify(planted));
      assert.match(planted.errors?.join('\n') ?? '', /owned by another account \(uid 12345\)/);

      // Hot reload: a folder made elsewhere and moved in whole, as another account would.
      const staging = join(await scratchDir(), 'late');
      await writePlugin(staging, 'late');
      await chownTree(staging, OTHER_UID);
      await rename(staging, join(pluginsDir, 'late'));
      const late = await waitFor('the reload', async () => pluginsOf(await listPlugins(gateway)).find((plugin) => plugin.id === 'late'));
      assert.equal(late.status, 'error', JSON.stringify(late));

      // The folder made writable by others while running: the running plugin stops too (its
      // backend would run from files anyone can now replace), not kept as a "last good version".
      await chmod(pluginsDir, 0o777);
      await writeFile(join(pluginsDir, 'good', 'touch.txt'), '');
      plugins = await waitFor('the reload', async () => {
        const list = pluginsOf(await listPlugins(gateway));
        return list.find((plugin) => plugin.id === 'good')?.status === 'error' ? list : undefined;
      });
      assert.match(plugins.find((plugin) => plugin.id === 'good')?.errors?.join('\n') ?? '', /writable by other accounts/);
    } finally {
      await gateway.stop();
    }
  });
});

describe('under umask 000', () => {
  /** `aiplugs …` through a shell that clears the umask first. */
  async function umaskZeroCli(): Promise<string> {
    const wrapper = join(await scratchDir(), 'aiplugs-umask-000.sh');
    await writeFile(wrapper, `umask 000\nexec '${process.execPath}' '${CLI}' "$@"\n`);
    return wrapper;
  }

  it('`aiplugs plugin new` makes nothing writable by others', async () => {
    const pluginsDir = await scratchDir(0o755);
    const child = spawn('/bin/sh', [await umaskZeroCli(), 'plugin', 'new', 'demo', '--plugins-dir', pluginsDir, '--json'], { cwd: REPO_ROOT, stdio: 'ignore' });
    assert.equal(await new Promise((resolve) => child.once('exit', resolve)), 0);
    assert.deepEqual(await writableByOthers(join(pluginsDir, 'demo')), []);
  });

  it('the gateway makes nothing writable by others: its data dir, its models folder and the models in it', async () => {
    const holder = await scratchDir();
    const source = join(holder, 'source.bin');
    const bytes = Buffer.from('a small model');
    await writeFile(source, bytes, { mode: 0o644 });
    const pluginsDir = join(holder, 'plugins');
    await mkdir(pluginsDir);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await writePlugin(join(pluginsDir, 'with-model'), 'with-model', {
      inference: { default_mode: 'local', models: [{ key: 'MY_MODEL_PATH', filename: 'small.bin', source_url: `file://${source}`, sha256 }] },
    });
    const modelsDir = join(holder, 'models');
    const gateway = await startGatewayProcess({ node: '/bin/sh', cli: await umaskZeroCli(), args: ['--plugins-dir', pluginsDir, '--models-dir', modelsDir] });
    try {
      assert.equal((await api(gateway, 'POST', '/api/models/pull', { plugin: 'with-model' })).status, 202);
      await waitFor('the model', async () => {
        const { json } = await api<{ models: Array<{ filename: string; state: string }> }>(gateway, 'GET', '/api/models');
        return json.models.find((model) => model.filename === 'small.bin' && model.state === 'ready');
      });
      assert.deepEqual(await writableByOthers(modelsDir), []);
      assert.deepEqual(await writableByOthers(gateway.dataDir), []);
    } finally {
      await gateway.stop();
    }
  });
});
