/**
 * The request channel (fds 3 and 4) belongs to the host: programs a backend starts do not inherit
 * it, and a backend that writes half a line onto it (then raises) fails its call with a protocol
 * error at once instead of leaving it to the request timeout. Real Python and Node workers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backendPlugins, fixturePlugin, workerManagers } from './test-support.js';

const noSignal = () => new AbortController().signal;
const manager = workerManagers();

const PYTHON = `import os

def run(payload):
    op = payload["op"]
    if op == "system":
        # os.system runs /bin/sh: does it hold the channel's fds?
        status = os.system('[ -e /proc/$$/fd/3 ] || [ -e /proc/$$/fd/4 ]')
        return {"inherited": os.waitstatus_to_exitcode(status) == 0}
    if op == "half-line":
        os.write(4, payload["text"].encode())
        raise ValueError("gave up half way")
    return {"pid": os.getpid()}
`;

const NODE = `import { execSync } from 'node:child_process';
import { writeSync } from 'node:fs';
export function run(payload) {
  if (payload.op === 'system') {
    try {
      execSync('[ -e /proc/$$/fd/3 ] || [ -e /proc/$$/fd/4 ]');
      return { inherited: true };
    } catch {
      return { inherited: false };
    }
  }
  if (payload.op === 'half-line') {
    writeSync(4, payload.text);
    throw new RangeError('gave up half way');
  }
  return { pid: process.pid };
}
`;

const root = await backendPlugins('touches the channel', [
  ['channel-py', 'backend.py', PYTHON],
  ['channel-node', 'backend.mjs', NODE],
]);

for (const id of ['channel-py', 'channel-node']) {
  describe(id, { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
    test('a program the backend runs through the shell does not inherit the channel fds', async () => {
      const { workers } = manager();
      assert.deepEqual(await workers.infer(await fixturePlugin(id, root), { op: 'system' }, noSignal()), { inherited: false });
    });

    for (const [what, text] of [
      ['the start of an answer', '{"type":"result","id":2,"resu'],
      ['bytes that name no request', '{"oops": '],
    ] as const) {
      test(`half a line on the answer channel (${what}), then an exception: the call fails now with a protocol error`, async () => {
        // The request timeout is far off: failing within it is the fix, not a timing assertion.
        const { workers, lines } = manager({ requestTimeoutMs: 60_000 });
        const plugin = await fixturePlugin(id, root);
        const { pid } = (await workers.infer(plugin, { op: 'pid' }, noSignal())) as { pid: number };
        const started = Date.now();
        await assert.rejects(workers.infer(plugin, { op: 'half-line', text }, noSignal()), (error: Error & { code: string }) => {
          assert.equal(error.code, 'backend_error');
          assert.match(error.message, /backend raised ProtocolError: the worker sent a malformed answer \(not JSON/);
          return true;
        });
        assert.ok(Date.now() - started < 30_000, 'failed long before the request timeout');
        assert.ok(lines.some((line) => /sent a bad message|malformed|not JSON/.test(line)), 'logged');
        assert.equal(((await workers.infer(plugin, { op: 'pid' }, noSignal())) as { pid: number }).pid, pid, 'the worker stays up and in step');
      });
    }
  });
}
