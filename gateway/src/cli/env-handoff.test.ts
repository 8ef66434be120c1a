import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { needsRelaunch, splitLaunchEnv } from './env-handoff.js';
import { GATEWAY_MALLOC_TUNABLE } from './malloc-tuning.js';

const PROBE = fileURLToPath(new URL('./fixtures/handoff-probe.ts', import.meta.url));
const SECRETS = { SYSTEM_API_KEY: 'sk-handoff-canary-1', OTHER_TOKEN: 'other-handoff-canary-2' };

interface Report {
  pid: number;
  ppid: number;
  environ: string[];
  env: Record<string, string | null>;
}

/** Runs the probe as `aiplugs start` would run; `lines` yields what it prints. */
function runProbe(args: string[], env: NodeJS.ProcessEnv) {
  // Its own process group, like a command in a terminal: a "Ctrl-C" below signals the whole group.
  const child = spawn(process.execPath, ['--import', 'tsx', PROBE, 'start', ...args], { env, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async <T>() => JSON.parse((await lines.next()).value as string) as T;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, next, exited };
}

const baseEnv = { PATH: process.env.PATH, HOME: process.env.HOME };

/** The probe's first report, from a launcher a shell started; whatever the test finds, the launcher and the probe are killed after it. */
async function underShell(shell: ReturnType<typeof spawn>, t: { after(fn: () => void): void }) {
  const lines = createInterface({ input: shell.stdout! })[Symbol.asyncIterator]();
  const report = JSON.parse((await lines.next()).value as string) as Report;
  t.after(() => {
    for (const pid of [report.ppid, report.pid]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone, as it should be
      }
    }
  });
  return { lines, report };
}

describe('splitting the launch environment', () => {
  it('keeps the worker allowlist and what Node reads at start; hands over everything else', () => {
    const { exec, handedOver } = splitLaunchEnv({
      PATH: '/bin',
      LANG: 'C.UTF-8',
      NODE_OPTIONS: '--trace-warnings',
      NODE_EXTRA_CA_CERTS: '/etc/ca.pem',
      NODE_AUTH_TOKEN: 'npm-token',
      SYSTEM_API_KEY: 'sk-1',
      AIPLUGS_CLOUD_API_KEY: 'sk-2',
      AIPLUGS_PROXY_CSP_MODE: 'strip',
      DISPLAY: ':0',
      AIPLUGS_HANDOFF_FD: '3',
      GLIBC_TUNABLES: 'glibc.malloc.arena_max=2',
      MALLOC_ARENA_MAX: '2',
    });
    assert.deepEqual(Object.keys(exec).sort(), ['GLIBC_TUNABLES', 'LANG', 'MALLOC_ARENA_MAX', 'NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS', 'PATH']);
    assert.deepEqual(Object.keys(handedOver).sort(), ['AIPLUGS_CLOUD_API_KEY', 'AIPLUGS_PROXY_CSP_MODE', 'DISPLAY', 'NODE_AUTH_TOKEN', 'SYSTEM_API_KEY']);
  });

  it('relaunches only the commands that run a gateway, only with something to hide, never twice, and not on Windows', () => {
    const argv = ['node', 'aiplugs.js', 'start'];
    assert.equal(needsRelaunch(argv, { PATH: '/bin', SYSTEM_API_KEY: 'sk' }, 'linux'), true);
    assert.equal(needsRelaunch(['node', 'aiplugs.js', 'browser', 'https://example.com'], { SYSTEM_API_KEY: 'sk' }, 'linux'), true);
    assert.equal(needsRelaunch(argv, { PATH: '/bin', SYSTEM_API_KEY: 'sk' }, 'darwin'), true);
    assert.equal(needsRelaunch(argv, { PATH: '/bin', HOME: '/root' }, 'linux'), false, 'nothing to hide: no extra process');
    assert.equal(needsRelaunch(['node', 'aiplugs.js', 'status'], { SYSTEM_API_KEY: 'sk' }, 'linux'), false);
    assert.equal(needsRelaunch(argv, { SYSTEM_API_KEY: 'sk', AIPLUGS_HANDOFF_FD: '3' }, 'linux'), false);
    assert.equal(needsRelaunch(argv, { SYSTEM_API_KEY: 'sk' }, 'win32'), false);
  });
});

describe('the launcher in front of the gateway', () => {
  it('runs the gateway with a scrubbed exec environment; the secrets arrive in memory only', async () => {
    const probe = runProbe(['exit', '0'], { ...baseEnv, ...SECRETS });
    const report = await probe.next<Report>();
    assert.equal(report.ppid, probe.child.pid, 'a child of the launcher');
    const environ = report.environ.join('\n');
    assert.deepEqual(Object.values(SECRETS).filter((secret) => environ.includes(secret)), [], '/proc/<gateway>/environ');
    assert.ok(report.environ.includes(`PATH=${process.env.PATH}`));
    assert.deepEqual(report.env, { ...SECRETS, PATH: process.env.PATH, GLIBC_TUNABLES: null }, 'process.env has them all, and not the allocator setting');
    assert.deepEqual(await probe.exited, { code: 0, signal: null });
  });

  it('execs the gateway with the allocator setting, or with the user’s own', async () => {
    const ours = runProbe(['exit', '0'], { ...baseEnv, ...SECRETS });
    assert.ok((await ours.next<Report>()).environ.includes(`GLIBC_TUNABLES=${GATEWAY_MALLOC_TUNABLE}`), 'applied by the C library at exec');
    await ours.exited;
    const theirs = runProbe(['exit', '0'], { ...baseEnv, ...SECRETS, GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' });
    const report = await theirs.next<Report>();
    assert.ok(report.environ.includes('GLIBC_TUNABLES=glibc.malloc.arena_max=2'));
    assert.equal(report.env.GLIBC_TUNABLES, 'glibc.malloc.arena_max=2', 'theirs stays for what the gateway starts');
    await theirs.exited;
  });

  it('without anything to hide there is no second process', async () => {
    const probe = runProbe(['exit', '0'], baseEnv);
    assert.equal((await probe.next<Report>()).pid, probe.child.pid);
    await probe.exited;
  });

  it("passes on the gateway's exit code", async () => {
    const probe = runProbe(['exit', '7'], { ...baseEnv, ...SECRETS });
    await probe.next<Report>();
    assert.deepEqual(await probe.exited, { code: 7, signal: null });
  });

  const signalCases = [
    { what: 'SIGTERM to the launcher reaches the gateway, which ends cleanly', send: (pid: number) => process.kill(pid, 'SIGTERM'), gets: 'SIGTERM', exit: { code: 0, signal: null } },
    // A second SIGINT would hit the default action (the gateway's "stop now"): killed by the signal.
    { what: 'a Ctrl-C (SIGINT to the foreground process group) reaches the gateway once, not twice', send: (pid: number) => process.kill(-pid, 'SIGINT'), gets: 'SIGINT', exit: { code: 0, signal: null } },
    // The channel closes; the gateway shares the launcher's stdout, so its report still arrives.
    { what: 'a launcher killed with SIGKILL still stops the gateway, cleanly', send: (pid: number) => process.kill(pid, 'SIGKILL'), gets: 'SIGTERM', exit: { code: null, signal: 'SIGKILL' } },
  ] as const;
  it('a launcher whose own parent goes away (npx: npm passes a SIGTERM to its shell only) stops the gateway, cleanly', { timeout: 30_000 }, async (t) => {
    // The launcher under a shell, as npm exec runs it; the shell dies, and the launcher is orphaned.
    const shell = spawn('sh', ['-c', `"${process.execPath}" --import tsx "${PROBE}" start wait; true`], { env: { ...baseEnv, ...SECRETS, npm_command: 'exec' }, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    const { lines, report } = await underShell(shell, t);
    shell.kill('SIGKILL');
    // Before, nothing came: the gateway ran on after its starter had been stopped.
    assert.deepEqual(JSON.parse((await lines.next()).value as string), { signal: 'SIGTERM' });
    assert.equal((await lines.next()).done, true, 'everything holding the output has exited');
    assert.throws(() => process.kill(report.pid, 0));
  });

  it('a launcher started in the background by a shell that exits (not under npm) keeps its gateway running', { timeout: 30_000 }, async (t) => {
    const shell = spawn('sh', ['-c', `"${process.execPath}" --import tsx "${PROBE}" start wait & sleep 1`], { env: { ...baseEnv, ...SECRETS }, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    const shellExited = new Promise((resolve) => shell.once('exit', resolve));
    const { report } = await underShell(shell, t);
    await shellExited;
    // Orphaned on purpose: two of the launcher's checks later, both still run.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (const pid of [report.ppid, report.pid]) assert.doesNotThrow(() => process.kill(pid, 0));
  });

  for (const { what, send, gets, exit } of signalCases) {
    it(what, async () => {
      const probe = runProbe(['wait'], { ...baseEnv, ...SECRETS });
      await probe.next<Report>();
      send(probe.child.pid!);
      assert.deepEqual(await probe.next<{ signal: string }>(), { signal: gets });
      assert.deepEqual(await probe.exited, exit);
    });
  }
});
