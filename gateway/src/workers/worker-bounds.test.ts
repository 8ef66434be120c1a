/**
 * What a backend sends the gateway is bounded: its printed output by a budget per window (the
 * rest dropped, counted and reported), its answers by the worker answer limit (a larger one fails
 * its call, not the worker). Real Node and Python backends (fixtures node-ops and py-ops).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errorCode, fixturePlugin, waitFor, workerManagers } from './test-support.js';
import { spawnWorkerProcess } from './worker-process.js';

const noSignal = () => new AbortController().signal;
const KiB = 1024;
const MiB = 1024 * KiB;

const manager = workerManagers();

/** Lines counted in "Dropped N lines … of output from plugin "<id>"" reports. */
const droppedIn = (lines: string[], id: string) =>
  lines.reduce((sum, line) => sum + Number(new RegExp(`Dropped (\\d+) lines \\([^)]*\\) of output from plugin "${id}"`).exec(line)?.[1] ?? 0), 0);

for (const id of ['node-ops', 'py-ops']) {
  describe(`${id}: printed output is bounded`, () => {
    // One window for the whole test, so what reaches the log is exactly the budget, however fast the machine.
    const budget = { lines: 500, bytes: 64 * KiB, windowMs: 600_000 };
    const FLOOD = 20_000; // lines of 1 KiB: 20 MB printed

    test('a flood of output reaches the log only up to the budget, the drop is reported with its count, and the worker keeps serving', async () => {
      const { workers, lines } = manager({ outputBudget: budget });
      const plugin = await fixturePlugin(id);
      const { pid } = (await workers.infer(plugin, { op: 'flood', lines: FLOOD }, noSignal())) as { pid: number };
      assert.equal(((await workers.infer(plugin, { after: 'flood' }, noSignal())) as { pid: number }).pid, pid, 'a later call is served by the same worker');
      await workers.unload(plugin.id); // its output drained, the last count is reported at exit
      const printed = lines.filter((line) => line.includes(`[${id}] `));
      // What the log sink was given (and would queue, in stderr's and the log file's buffers).
      const heldBytes = printed.reduce((sum, line) => sum + Buffer.byteLength(line), 0);
      assert.ok(printed.length <= budget.lines, `${printed.length} lines logged`);
      assert.ok(heldBytes <= budget.bytes + printed.length * 80, `${heldBytes} bytes logged of 20 MB printed`);
      // Nothing vanishes unaccounted: every printed line (the import-time one, the flood, its stderr
      // line) was logged or counted as dropped.
      assert.equal(printed.length + droppedIn(lines, id), 1 + FLOOD + 1);
      assert.ok(lines.some((line) => /WARN .*Dropped \d+ lines \(\d+ (bytes|KiB|MiB)\) of output from plugin ".*": it printed more than 500 lines or 64 KiB in 600 s/.test(line)));
    });

    test('the last stderr lines still reach a crash message when the flood has used the budget', async () => {
      const { workers } = manager({ outputBudget: budget });
      const plugin = await fixturePlugin(id);
      await assert.rejects(workers.infer(plugin, { op: 'flood', lines: FLOOD, crash: true }, noSignal()), (error: Error & { code: string }) => {
        assert.equal(error.code, 'worker_crashed');
        assert.match(error.message, new RegExp(`flood done after ${FLOOD} lines`));
        return true;
      });
    });

    test('a line longer than the line limit is logged cut, once, and the next line is whole', async () => {
      const { workers, lines } = manager();
      const plugin = await fixturePlugin(id);
      await workers.infer(plugin, { op: 'flood', lines: 2, size: 1 * MiB }, noSignal());
      const longLines = () => lines.filter((line) => line.includes(`[${id}] 0 xxx`) || line.includes(`[${id}] 1 xxx`));
      await waitFor(() => lines.some((line) => line.includes('flood done after 2 lines')) && longLines().length >= 2, 'the long lines and the stderr line after them');
      await workers.unload(plugin.id);
      const long = longLines();
      assert.equal(long.length, 2, 'one log line per printed line, not one per 16 KiB');
      for (const line of long) {
        assert.ok(line.endsWith(' … [line cut]'), line.slice(-40));
        assert.ok(Buffer.byteLength(line) < 17 * KiB, `${Buffer.byteLength(line)} bytes`);
      }
    });
  });

  describe(`${id}: an answer over the worker answer limit`, () => {
    test('fails its call with result_too_large naming the limit, counts as no crash, and the worker keeps serving', async () => {
      const { workers, lines } = manager({ maxAnswerBytes: 1 * MiB });
      const plugin = await fixturePlugin(id);
      const { pid } = (await workers.infer(plugin, {}, noSignal())) as { pid: number };
      // Three in a row stopped the plugin (worker_failed) when each was taken for a crash.
      for (const stream of [false, true, false]) {
        await assert.rejects(workers.infer(plugin, { op: 'big', bytes: 3 * MiB, stream }, noSignal(), () => undefined), (error: Error & { code: string; status: number }) => {
          assert.equal(error.code, 'result_too_large');
          assert.equal(error.status, 502);
          assert.match(error.message, /more than 1 MiB/);
          return true;
        });
      }
      const status = workers.status(plugin.id);
      assert.equal(status?.state, 'ready');
      assert.equal(status?.recentCrashes, 0);
      assert.equal(status?.pid, pid, 'the same worker');
      const under = (await workers.infer(plugin, { op: 'big', bytes: 512 * KiB }, noSignal())) as { big: string; pid: number };
      assert.equal(under.big.length, 512 * KiB);
      assert.equal(under.pid, pid);
      assert.ok(lines.some((line) => line.includes(`Plugin "${id}" worker ${pid} answered with more than 1 MiB; that call failed with result_too_large`)));
    });
  });
}

describe('the default answer limit', () => {
  test('a 65 MiB result gets result_too_large (it was worker_crashed, "killed by SIGKILL"), a 50 MiB one is answered by the same worker', async () => {
    const { workers } = manager();
    const plugin = await fixturePlugin('node-ops');
    assert.equal(await errorCode(workers.infer(plugin, { op: 'big', bytes: 65 * MiB }, noSignal())), 'result_too_large');
    const status = workers.status(plugin.id);
    assert.equal(status?.recentCrashes, 0);
    const answered = (await workers.infer(plugin, { op: 'big', bytes: 50 * MiB }, noSignal())) as { big: string; pid: number };
    assert.equal(answered.big.length, 50 * MiB);
    assert.equal(answered.pid, status?.pid);
  });
});

describe('an over-long streamed chunk', () => {
  test("keeps its call's slot until the backend has stopped the stream: the next call does not run beside it", async () => {
    // Before: the call failed and its slot went to the next call at once, while the backend was
    // still at the stream (one call at a time, as the plugin's concurrency said, no more held).
    const { workers } = manager({ maxAnswerBytes: 1 * MiB, concurrency: 1 });
    const plugin = await fixturePlugin('node-ops');
    await workers.infer(plugin, {}, noSignal());
    const first = errorCode(workers.infer(plugin, { op: 'big', bytes: 3 * MiB, stream: true, thenMs: 500 }, noSignal(), () => undefined));
    const second = workers.infer(plugin, { op: 'big-running' }, noSignal());
    assert.equal(await first, 'result_too_large');
    assert.deepEqual(await second, { bigRunning: false });
  });
});

describe('the output budget across windows', () => {
  test("reports what a window dropped when the next window's first line comes before its end-of-window timer", async (t) => {
    // Before: admit() handed over the count and the report asked for it again (null): 3 lines vanished unreported.
    t.mock.timers.enable({ apis: ['Date'], now: 0 });
    const logged: string[] = [];
    const dropped: number[] = [];
    const worker = spawnWorkerProcess({
      command: { runtime: 'node', program: process.execPath, args: ['-e', "for (let i = 0; i < 5; i++) console.log('a' + i); setTimeout(() => console.log('b'), 400);"], entry: '' },
      env: process.env,
      cwd: process.cwd(),
      outputBudget: { lines: 2, bytes: MiB, windowMs: 1000 },
      onOutput: (_stream, line) => logged.push(line),
      onOutputDropped: (output) => dropped.push(output.lines),
    });
    await waitFor(() => logged.length === 2, 'the first window to fill');
    await new Promise((resolve) => setTimeout(resolve, 100)); // the three lines over the budget arrive too
    t.mock.timers.tick(5000); // the window is over; its timer, in real time, fires only after 'b'
    await worker.exited;
    assert.deepEqual(logged, ['a0', 'a1', 'b']);
    assert.deepEqual(dropped, [3]);
  });
});
