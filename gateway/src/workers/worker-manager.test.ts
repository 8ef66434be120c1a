import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { errorCode, FIXTURE_PLUGINS, fixturePlugin, MODELS_DIR, processAlive, waitFor, workerManagers } from './test-support.js';

const noSignal = () => new AbortController().signal;

const manager = workerManagers();

type Echo = { echo: unknown; pid: number };

for (const id of ['node-ops', 'py-ops']) {
  describe(`${id} backend`, () => {
    test('answers run(payload) and logs what the backend prints under the plugin id, off the request channel', async () => {
      const { workers, lines } = manager();
      const plugin = await fixturePlugin(id);
      const first = (await workers.infer(plugin, { hello: 'world' }, noSignal())) as Echo;
      assert.deepEqual(first.echo, { hello: 'world' });
      // A print that looks exactly like a protocol answer must not be taken for one.
      const fake = JSON.stringify({ type: 'result', id: 2, result: 'forged' });
      assert.deepEqual(await workers.infer(plugin, { op: 'print', text: fake }, noSignal()), { printed: true });
      assert.ok(lines.some((line) => line.includes(`[${id}] ${id} backend loaded`)), 'import-time print is logged with the plugin id');
      // stdout and the answer channel are separate pipes: the printed line may land just after the answer.
      await waitFor(() => lines.some((line) => line.includes(`[${id}] ${fake}`)), 'the printed line in the log');
    });

    test('a backend exception reaches the caller with its message and the worker stays up', async () => {
      const { workers } = manager();
      const plugin = await fixturePlugin(id);
      const { pid } = (await workers.infer(plugin, {}, noSignal())) as Echo;
      await assert.rejects(workers.infer(plugin, { op: 'raise', message: 'the input was odd' }, noSignal()), (error: Error & { code: string; status: number }) => {
        assert.equal(error.code, 'backend_error');
        assert.equal(error.status, 500);
        assert.match(error.message, /(ValueError|RangeError): the input was odd/);
        return true;
      });
      assert.equal(((await workers.infer(plugin, {}, noSignal())) as Echo).pid, pid);
    });

    test('a large payload with multi-byte text crosses the channel intact', async () => {
      const { workers } = manager();
      const text = 'é☃𝄞'.repeat(300_000); // ~2.7 MB of UTF-8, split across many pipe reads
      const result = (await workers.infer(await fixturePlugin(id), { text }, noSignal())) as { echo: { text: string } };
      assert.equal(result.echo.text, text);
    });

    test('a generator run() streams chunks and returns them all', async () => {
      const { workers } = manager();
      const chunks: unknown[] = [];
      const result = await workers.infer(await fixturePlugin(id), { op: 'stream', count: 3 }, noSignal(), (chunk) => chunks.push(chunk));
      assert.deepEqual(chunks, [{ part: 0 }, { part: 1 }, { part: 2 }]);
      assert.deepEqual(result, chunks);
    });

    test('a hung request times out, the worker is killed and the next request gets a fresh one', async () => {
      const { workers, events } = manager({ requestTimeoutMs: 1500, startupTimeoutMs: 15_000 });
      const plugin = await fixturePlugin(id);
      const { pid } = (await workers.infer(plugin, {}, noSignal())) as Echo;
      assert.equal(await errorCode(workers.infer(plugin, { op: 'hang' }, noSignal())), 'worker_timeout');
      await waitFor(() => !processAlive(pid), 'the hung worker to be killed');
      const next = (await workers.infer(plugin, {}, noSignal())) as Echo;
      assert.notEqual(next.pid, pid);
      assert.ok(events.some((event) => event.type === 'worker-state' && event.plugin === id && event.state === 'stopping' && /timed out/.test(event.detail ?? '')));
    });

    test('a backend that closes the answer channel ends its worker: the call fails at once as a crash, not at its timeout', async () => {
      const { workers } = manager({ requestTimeoutMs: 120_000 });
      const plugin = await fixturePlugin(id);
      const { pid } = (await workers.infer(plugin, {}, noSignal())) as Echo;
      assert.equal(await errorCode(workers.infer(plugin, { op: 'close-channel' }, noSignal())), 'worker_crashed');
      assert.notEqual(((await workers.infer(plugin, {}, noSignal())) as Echo).pid, pid, 'the next call gets a fresh worker');
    });

    test('a crash mid-request is reported with stderr, and the worker restarts after a backoff', async () => {
      const { workers } = manager();
      const plugin = await fixturePlugin(id);
      const { pid } = (await workers.infer(plugin, {}, noSignal())) as Echo;
      await assert.rejects(workers.infer(plugin, { op: 'crash' }, noSignal()), (error: Error & { code: string }) => {
        assert.equal(error.code, 'worker_crashed');
        assert.match(error.message, /fixture crash requested/);
        return true;
      });
      const next = (await workers.infer(plugin, {}, noSignal())) as Echo;
      assert.notEqual(next.pid, pid);
      assert.equal(workers.status(id)?.recentCrashes, 1);
    });
  });
}

describe("a page's calls that crash a worker", () => {
  // helper-79: any website could stop a plugin for every site and the user with three bad calls.
  test('stop only that site: other sites and the user are still served, and the plugin never fails', async () => {
    const { workers, lines } = manager({ crash: { limit: 3, windowMs: 60_000, initialBackoffMs: 1, maxBackoffMs: 5 } });
    const plugin = await fixturePlugin('node-ops');
    const evil = { site: 'evil.test' };
    for (let crash = 0; crash < 3; crash += 1) assert.equal(await errorCode(workers.infer(plugin, { op: 'crash' }, noSignal(), undefined, evil)), 'worker_crashed');
    assert.equal(await errorCode(workers.infer(plugin, {}, noSignal(), undefined, evil)), 'worker_failed');
    assert.deepEqual(((await workers.infer(plugin, { from: 'good' }, noSignal(), undefined, { site: 'good.test' })) as Echo).echo, { from: 'good' });
    assert.deepEqual(((await workers.infer(plugin, { from: 'user' }, noSignal())) as Echo).echo, { from: 'user' });
    assert.notEqual(workers.status('node-ops')?.state, 'failed');
    assert.equal(workers.status('node-ops')?.recentCrashes, 0);
    assert.ok(lines.some((line) => line.includes('calls from evil.test made its worker crash or time out repeatedly')));
    // A reset lifts the site's stop too.
    workers.reset('node-ops');
    assert.deepEqual(((await workers.infer(plugin, {}, noSignal(), undefined, evil)) as Echo).echo, {});
  });

  test('a call that runs to its timeout counts for its site too, and one site holds at most a quarter of the places (helper-80)', async () => {
    const { workers } = manager({ requestTimeoutMs: 1000, startupTimeoutMs: 15_000, crash: { limit: 2, windowMs: 60_000, initialBackoffMs: 1, maxBackoffMs: 5 } });
    const plugin = await fixturePlugin('node-ops');
    const evil = { site: 'evil.test' };
    for (let call = 0; call < 2; call += 1) assert.equal(await errorCode(workers.infer(plugin, { op: 'hang' }, noSignal(), undefined, evil)), 'worker_timeout');
    // Before, timeouts counted for nothing: the site could send such calls without end.
    assert.equal(await errorCode(workers.infer(plugin, {}, noSignal(), undefined, evil)), 'worker_failed');
    workers.reset('node-ops');
    // 1 running + 16 queued by default: a site gets 13 of the 17, the other 4 stay open to other sites.
    const { workers: queued } = manager({ requestTimeoutMs: 60_000 });
    const stop = new AbortController();
    const held = Array.from({ length: 13 }, () => queued.infer(plugin, { op: 'hang' }, stop.signal, undefined, evil).catch((error: { code?: string }) => error.code));
    assert.equal(await errorCode(queued.infer(plugin, { op: 'hang' }, noSignal(), undefined, evil)), 'worker_busy');
    const good = queued.infer(plugin, { from: 'good' }, noSignal(), undefined, { site: 'good.test' });
    stop.abort();
    assert.deepEqual(await Promise.all(held), Array(13).fill('cancelled'));
    assert.deepEqual(((await good) as Echo).echo, { from: 'good' });
  });

  test('sites that fill every place together make room for another site, whose call runs at its turn, not after their backlog', async () => {
    const { workers } = manager({ requestTimeoutMs: 60_000 });
    const plugin = await fixturePlugin('node-ops');
    // Who was answered, in order.
    const answered: string[] = [];
    const call = (site: string, ms: number, signal = noSignal()) =>
      workers.infer(plugin, { op: 'sleep', ms }, signal, undefined, { site }).then(
        () => {
          answered.push(site);
          return 'answered';
        },
        (error: { code?: string }) => error.code,
      );
    // 1 running + 16 queued by default: two sites of one owner take them all, 13 (a site's most) and 4.
    // The first runs until its caller leaves; the others take a moment each.
    const stopFirst = new AbortController();
    const first = call('evil-a.test', 600_000, stopFirst.signal);
    await waitFor(() => workers.status('node-ops')?.inFlight === 1, 'the first call running');
    const stopRest = new AbortController();
    const a = Array.from({ length: 12 }, () => call('evil-a.test', 300, stopRest.signal));
    const b = Array.from({ length: 4 }, () => call('evil-b.test', 300, stopRest.signal));
    // Before, every other site got worker_busy until their calls were done.
    const good = call('good.test', 0);
    // The place was the newest waiting one of the site holding most.
    assert.equal(await a[11], 'worker_busy');
    stopFirst.abort();
    assert.equal(await good, 'answered');
    // By turns: one call of each site that came before it, not evil-a's twelve in arrival order.
    assert.deepEqual(answered, ['evil-a.test', 'evil-b.test', 'good.test']);
    stopRest.abort();
    assert.equal(await first, 'cancelled');
    await Promise.all([...a, ...b]);
  });

  test("count for the plugin when a call of the user's own crashed it: a broken backend still stops", async () => {
    const { workers } = manager({ crash: { limit: 2, windowMs: 60_000, initialBackoffMs: 1, maxBackoffMs: 5 } });
    const plugin = await fixturePlugin('node-ops');
    assert.equal(await errorCode(workers.infer(plugin, { op: 'crash' }, noSignal())), 'worker_crashed');
    assert.equal(await errorCode(workers.infer(plugin, { op: 'crash' }, noSignal())), 'worker_crashed');
    assert.equal(workers.status('node-ops')?.state, 'failed');
    assert.equal(await errorCode(workers.infer(plugin, {}, noSignal(), undefined, { site: 'good.test' })), 'worker_failed');
  });
});

describe('answers that cannot be sent are errors at once, not hangs', () => {
  // A short timeout: a call left unanswered fails as worker_timeout instead of stalling the suite.
  const quick = () => manager({ requestTimeoutMs: 5000, startupTimeoutMs: 15_000 });
  const isBackendError = (pattern: RegExp) => (error: Error & { code: string; status: number }) => {
    assert.equal(error.code, 'backend_error', error.message);
    assert.equal(error.status, 500);
    assert.match(error.message, pattern);
    return true;
  };

  const kinds = { bigint: 'a BigInt', symbol: 'a Symbol', function: 'a function', 'undefined-toJSON': 'an object whose toJSON() returns undefined' };
  for (const [kind, what] of Object.entries(kinds)) {
    test(`a JS run() returning ${what} is a backend_error and the worker stays up`, async () => {
      const { workers } = quick();
      const plugin = await fixturePlugin('node-ops');
      const { pid } = (await workers.infer(plugin, {}, noSignal())) as Echo;
      await assert.rejects(workers.infer(plugin, { op: 'not-json', kind }, noSignal()), isBackendError(/run\(\) returned a value that is not JSON/));
      assert.equal(((await workers.infer(plugin, {}, noSignal())) as Echo).pid, pid);
      assert.equal(workers.status('node-ops')?.recentCrashes, 0);
    });
  }

  test('a JS generator yielding a value JSON drops is a backend_error', async () => {
    const { workers } = quick();
    const chunks: unknown[] = [];
    await assert.rejects(workers.infer(await fixturePlugin('node-ops'), { op: 'stream-not-json', kind: 'symbol' }, noSignal(), (chunk) => chunks.push(chunk)), isBackendError(/run\(\) yielded a value that is not JSON/));
    assert.deepEqual(chunks, [{ part: 0 }]);
  });

  test('a Python exception whose message cannot be encoded or read still answers the caller', async () => {
    const { workers } = quick();
    const plugin = await fixturePlugin('py-ops');
    await assert.rejects(workers.infer(plugin, { op: 'raise', message: 'lone \ud800 surrogate' }, noSignal()), isBackendError(/ValueError/));
    await assert.rejects(workers.infer(plugin, { op: 'raise-unprintable' }, noSignal()), isBackendError(/Unprintable/));
    assert.equal(workers.status('py-ops')?.recentCrashes, 0);
  });

  test('a malformed answer that names a pending request fails that request and cancels it in the host', async () => {
    const { workers, lines } = quick();
    const plugin = await fixturePlugin('node-ops');
    // A fresh worker numbers its first request 1: the forged line answers it without a result.
    await assert.rejects(workers.infer(plugin, { op: 'forge', line: '{"type":"result","id":1}' }, noSignal()), isBackendError(/malformed answer/));
    assert.ok(lines.some((line) => line.includes('"node-ops" worker sent a bad message: result:')), 'the log says what was wrong');
    await waitFor(() => lines.some((line) => line.includes('[node-ops] forge cancelled')), 'the host to cancel the forged request');
    assert.equal(((await workers.infer(plugin, { op: 'sleep', ms: 1 }, noSignal())) as { slept: number }).slept, 1);
    assert.equal(workers.status('node-ops')?.recentCrashes, 0);
  });
});

for (const id of ['node-ops', 'py-ops']) {
  describe(`${id} resource limits`, () => {
    test('a worker whose memory (RSS, not just heap) passes workers.max_memory_mb is killed, the caller and the log are told, and it counts as a crash', async () => {
      const { workers, lines } = manager({ maxMemoryMb: 160 });
      const plugin = await fixturePlugin(id);
      const { pid } = (await workers.infer(plugin, {}, noSignal())) as Echo;
      // 320 MB of touched Buffers / bytearrays, held: only a watchdog on the process's RSS stops it.
      await assert.rejects(workers.infer(plugin, { op: 'hog', mb: 320, holdMs: 15_000 }, noSignal()), (error: Error & { code: string; status: number }) => {
        assert.equal(error.code, 'worker_memory_exceeded', error.message);
        assert.match(error.message, /160 MB/);
        assert.doesNotMatch(error.message, /\//, 'no paths reach the caller');
        return true;
      });
      assert.equal(processAlive(pid), false);
      const logged = lines.find((line) => line.includes(`Plugin "${id}"`) && line.includes('memory')) ?? '';
      assert.match(logged, /over its 160 MB cap/, 'the log names the plugin and the cap');
      assert.ok(Number(/uses (\d+) MB of memory/.exec(logged)?.[1]) > 160, `the measured RSS: ${logged}`);
      assert.equal(workers.status(id)?.recentCrashes, 1);
      assert.notEqual(((await workers.infer(plugin, {}, noSignal())) as Echo).pid, pid, 'the next call gets a fresh worker');
    });

    test('a call over its CPU-time budget is stopped with a clear error and counts as a crash', async () => {
      const { workers } = manager({ requestCpuMs: 1000, requestTimeoutMs: 60_000 });
      const plugin = await fixturePlugin(id);
      const { pid } = (await workers.infer(plugin, {}, noSignal())) as Echo;
      await assert.rejects(workers.infer(plugin, { op: 'spin', ms: 10_000 }, noSignal()), (error: Error & { code: string }) => {
        assert.equal(error.code, 'worker_cpu_exceeded', error.message);
        assert.match(error.message, /1 s of CPU time/);
        return true;
      });
      assert.equal(processAlive(pid), false);
      assert.equal(workers.status(id)?.recentCrashes, 1);
      // Time spent starting (imports, model loading) is not charged to the first call.
      assert.deepEqual(((await workers.infer(plugin, { op: 'spin', ms: 700 }, noSignal())) as { spun: boolean }).spun, true);
    });
  });
}

test("the seed's backend.py runs unmodified: print at import, model path from the environment", async () => {
  const { workers, lines } = manager();
  const result = await workers.infer(await fixturePlugin('seed-math'), { a: 2, b: 3 }, noSignal());
  assert.deepEqual(result, { sum: 5, model_path: join(MODELS_DIR, 'math-model.bin') });
  assert.ok(lines.some((line) => line.includes(`[seed-math] Loading model from ${join(MODELS_DIR, 'math-model.bin')}`)));
});

test('a TypeScript backend runs through tsx', async () => {
  const { workers } = manager();
  assert.deepEqual(await workers.infer(await fixturePlugin('ts-echo'), { text: 'typed' }, noSignal()), { echo: 'typed', typed: true });
});

test('workers get their identity, model paths and the listed variables, but no gateway secret and nothing unlisted', async () => {
  const token = 'tok_0123456789abcdef0123456789abcdef';
  const { workers } = manager({
    env: { ...process.env, SYSTEM_API_KEY: 'sk-cloud-secret', CLOUD_BASE_URL: 'http://cloud.invalid', AIPLUGS_CLOUD_API_KEY: 'sk-other', COPIED_TOKEN: token, OTHER_TOKEN: 'ghp_unrelated', HARMLESS: 'yes' },
    secretValues: () => [token],
    envPassthrough: ['HARMLESS', 'COPIED_TOKEN'],
  });
  const plugin = await fixturePlugin('py-ops');
  const names = ['AIPLUGS_PLUGIN_ID', 'AIPLUGS_PLUGIN_DIR', 'AIPLUGS_MODELS_DIR', 'SYSTEM_API_KEY', 'CLOUD_BASE_URL', 'AIPLUGS_CLOUD_API_KEY', 'COPIED_TOKEN', 'OTHER_TOKEN', 'HARMLESS'];
  assert.deepEqual(await workers.infer(plugin, { op: 'env', names }, noSignal()), {
    AIPLUGS_PLUGIN_ID: 'py-ops',
    AIPLUGS_PLUGIN_DIR: plugin.dir,
    AIPLUGS_MODELS_DIR: MODELS_DIR,
    SYSTEM_API_KEY: null,
    CLOUD_BASE_URL: null,
    AIPLUGS_CLOUD_API_KEY: null,
    COPIED_TOKEN: null,
    OTHER_TOKEN: null,
    HARMLESS: 'yes',
  });
});

test('a backend that keeps failing to start is stopped with its stderr, until reset or changed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'aiplugs-crashloop-'));
  after(() => rm(dir, { recursive: true, force: true }));
  await cp(join(FIXTURE_PLUGINS, 'crash-on-start'), join(dir, 'crash-on-start'), { recursive: true });
  const { workers, events } = manager({ crash: { limit: 3, windowMs: 60_000, initialBackoffMs: 1, maxBackoffMs: 5 } });
  const plugin = await fixturePlugin('crash-on-start', dir);
  const codes: string[] = [];
  for (let attempt = 0; attempt < 3; attempt += 1) {
    codes.push(await errorCode(workers.infer(plugin, {}, noSignal())));
    await waitFor(() => workers.status('crash-on-start')?.state !== 'starting', 'the attempt to settle');
  }
  assert.deepEqual(codes, ['worker_start_failed', 'worker_start_failed', 'worker_start_failed']);
  assert.equal(workers.status('crash-on-start')?.state, 'failed');
  await assert.rejects(workers.infer(plugin, {}, noSignal()), (error: Error & { code: string; status: number }) => {
    assert.equal(error.code, 'worker_failed');
    assert.equal(error.status, 503);
    assert.match(error.message, /giving up during import/);
    return true;
  });
  const failed = events.find((event) => event.type === 'worker-state' && event.state === 'failed');
  assert.match(failed?.type === 'worker-state' ? failed.detail ?? '' : '', /giving up during import/);

  // A reset lifts the stop: the next request tries (and fails to start) again.
  assert.equal(workers.reset('crash-on-start'), true);
  assert.equal(await errorCode(workers.infer(plugin, {}, noSignal())), 'worker_start_failed');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    await waitFor(() => workers.status('crash-on-start')?.state !== 'starting', 'the attempt to settle');
    await errorCode(workers.infer(plugin, {}, noSignal()));
  }
  await waitFor(() => workers.status('crash-on-start')?.state === 'failed', 'a second crash-loop stop');
  // So does changing the backend's files (a new revision from the registry).
  const future = new Date(Date.now() + 60_000);
  await utimes(join(dir, 'crash-on-start', 'backend.mjs'), future, future);
  assert.equal(await errorCode(workers.infer(plugin, {}, noSignal())), 'worker_failed', 'the old revision stays stopped');
  assert.equal(await errorCode(workers.infer(await fixturePlugin('crash-on-start', dir), {}, noSignal())), 'worker_start_failed');
});

test('a plugin edited on disk gets a fresh worker running the new code', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'aiplugs-reload-'));
  after(() => rm(dir, { recursive: true, force: true }));
  await cp(join(FIXTURE_PLUGINS, 'node-ops'), join(dir, 'node-ops'), { recursive: true });
  const { workers } = manager();
  const first = (await workers.infer(await fixturePlugin('node-ops', dir), {}, noSignal())) as Echo;
  await writeFile(join(dir, 'node-ops', 'backend.js'), 'export const run = () => ({ version: 2, pid: process.pid });\n');
  const edited = await fixturePlugin('node-ops', dir);
  workers.refresh('node-ops', edited);
  await waitFor(() => !processAlive(first.pid), 'the old worker to stop');
  const second = (await workers.infer(edited, {}, noSignal())) as { version: number; pid: number };
  assert.equal(second.version, 2);
  assert.notEqual(second.pid, first.pid);
});

test('a plugin that is gone (renamed, removed, broken) leaves the worker list once its worker stopped', async () => {
  const { workers } = manager();
  const { pid } = (await workers.infer(await fixturePlugin('node-ops'), {}, noSignal())) as Echo;
  assert.deepEqual(workers.list().map((worker) => worker.plugin), ['node-ops']);
  workers.refresh('node-ops', null);
  await waitFor(() => workers.list().length === 0, 'the list to drop it');
  assert.equal(processAlive(pid), false);
});

test('an idle worker is unloaded after its keep-alive and re-spawned on the next request', async () => {
  const { workers } = manager({ keepAliveMs: 100 });
  const plugin = await fixturePlugin('node-ops');
  const { pid } = (await workers.infer(plugin, {}, noSignal())) as Echo;
  await waitFor(() => workers.status('node-ops')?.state === 'idle' && !processAlive(pid), 'the idle unload');
  const next = (await workers.infer(plugin, {}, noSignal())) as Echo;
  assert.notEqual(next.pid, pid);
});

test('keep-alive 0 never unloads', async () => {
  const { workers } = manager({ keepAliveMs: 0 });
  const plugin = await fixturePlugin('node-ops');
  const { pid } = (await workers.infer(plugin, {}, noSignal())) as Echo;
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(((await workers.infer(plugin, {}, noSignal())) as Echo).pid, pid);
});

test('a full queue answers busy (503) and queued or running requests can be cancelled', async () => {
  const { workers } = manager({ concurrency: 1, queueSize: 1 });
  const plugin = await fixturePlugin('node-ops');
  const { pid } = (await workers.infer(plugin, {}, noSignal())) as Echo;
  const running = new AbortController();
  const queued = new AbortController();
  const first = workers.infer(plugin, { op: 'sleep', ms: 60_000 }, running.signal);
  const second = workers.infer(plugin, { op: 'sleep', ms: 60_000 }, queued.signal);
  await waitFor(() => workers.status('node-ops')?.queued === 1, 'one running and one queued');
  await assert.rejects(workers.infer(plugin, {}, noSignal()), (error: Error & { code: string; status: number }) => error.code === 'worker_busy' && error.status === 503);

  queued.abort();
  assert.equal(await errorCode(second), 'cancelled');
  assert.equal(workers.status('node-ops')?.queued, 0);
  running.abort();
  assert.equal(await errorCode(first), 'cancelled');
  // The host stopped the cancelled sleep: the slot frees without a restart.
  await waitFor(() => workers.status('node-ops')?.inFlight === 0, 'the cancelled request to leave the worker');
  assert.equal(((await workers.infer(plugin, {}, noSignal())) as Echo).pid, pid);
});

test('concurrency lets one worker run several requests at once', async () => {
  const { workers } = manager({ concurrency: 2, queueSize: 0 });
  const plugin = await fixturePlugin('node-ops');
  const calls = [workers.infer(plugin, { op: 'sleep', ms: 300 }, noSignal()), workers.infer(plugin, { op: 'sleep', ms: 300 }, noSignal())];
  await waitFor(() => workers.status('node-ops')?.inFlight === 2, 'two requests in flight');
  const results = (await Promise.all(calls)) as Array<{ pid: number }>;
  assert.equal(results[0]?.pid, results[1]?.pid);
});

test('stop() ends every worker and refuses new work', async () => {
  const { workers } = manager();
  const pids = await Promise.all(['node-ops', 'py-ops'].map(async (id) => ((await workers.infer(await fixturePlugin(id), {}, noSignal())) as Echo).pid));
  await workers.stop();
  for (const pid of pids) assert.equal(processAlive(pid), false);
  assert.equal(await errorCode(workers.infer(await fixturePlugin('node-ops'), {}, noSignal())), 'shutting_down');
});

test('the model download stops when its only caller leaves, and a later call starts it again', async () => {
  // Before: the download ran on with the worker's lifetime, after the page that started it had gone.
  const signals: AbortSignal[] = [];
  const { workers } = manager({
    provisionModels: (_plugin, signal) => {
      signals.push(signal);
      if (signals.length > 1) return Promise.resolve({ MATH_MODEL_PATH: join(MODELS_DIR, 'math-model.bin') });
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('download aborted')), { once: true }));
    },
  });
  const plugin = await fixturePlugin('seed-math');
  const caller = new AbortController();
  const first = errorCode(workers.infer(plugin, { a: 2, b: 3 }, caller.signal));
  await waitFor(() => signals.length === 1, 'the download to start');
  caller.abort();
  assert.equal(await first, 'cancelled');
  await waitFor(() => signals[0]?.aborted, 'the download to be stopped');
  await waitFor(() => workers.status('seed-math')?.state === 'idle', 'the worker to be idle');
  assert.equal(workers.status('seed-math')?.recentCrashes, 0);
  assert.deepEqual(await workers.infer(plugin, { a: 2, b: 3 }, noSignal()), { sum: 5, model_path: join(MODELS_DIR, 'math-model.bin') });
});

test('a model provisioning failure fails the request without counting as a crash', async () => {
  const { workers } = manager({
    provisionModels: async () => {
      throw new Error('offline and math-model.bin is missing');
    },
  });
  await assert.rejects(workers.infer(await fixturePlugin('seed-math'), {}, noSignal()), (error: Error & { code: string }) => {
    assert.equal(error.code, 'models_unavailable');
    assert.match(error.message, /math-model\.bin is missing/);
    return true;
  });
  assert.equal(workers.status('seed-math')?.recentCrashes, 0);
});
