/**
 * A result JSON cannot carry faithfully fails its call with a clear backend error, the same on
 * both hosts, and the worker stays up: NaN and ±Infinity (JSON has neither; JavaScript's
 * JSON.stringify used to turn them into null), and Python integers outside JavaScript's safe range
 * (10**400 used to arrive as null, 2**64 + 1 rounded). The message says what and where (the key
 * path), so the backend's author knows what to change. Real Python and Node workers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backendPlugins, fixturePlugin, workerManagers } from './test-support.js';

const noSignal = () => new AbortController().signal;
const manager = workerManagers();

const PYTHON = `import os

def stream(values):
    for value in values:
        yield value

def run(payload):
    op = payload["op"]
    if op == "nan": return {"x": {"nan": float("nan")}}
    if op == "inf-list": return [1, float("inf")]
    if op == "neg-inf-key": return {"a b": float("-inf")}
    if op == "stream-nan": return stream([{"ok": 1}, {"v": float("nan")}])
    if op == "fine": return {"n": None, "list": [None], "f": 1e300, "max": 2**53 - 1, "min": -(2**53 - 1), "big": "1" * 400, "t": True}
    if op == "big": return {"ok": 1, "big": 10**400}
    if op == "n": return {"n": 2**64 + 1}
    if op == "deep-neg": return {"a": [{"b": -(2**53)}]}
    if op == "stream-int": return stream([{"ok": 1}, {"v": 2**60}])
    if op == "int-key": return {10**30: "keys are strings in JSON"}
    return {"pid": os.getpid()}
`;

const NODE = `function* stream(values) { yield* values; }
export function run({ op }) {
  if (op === 'nan') return { x: { nan: NaN } };
  if (op === 'inf-list') return [1, Infinity];
  if (op === 'neg-inf-key') return { 'a b': -Infinity };
  if (op === 'stream-nan') return stream([{ ok: 1 }, { v: NaN }]);
  if (op === 'fine') return { n: null, list: [undefined], f: 1e300, max: 2 ** 53 - 1, min: -(2 ** 53 - 1), big: '1'.repeat(400), t: true };
  if (op === 'boxed') return { n: [Object(NaN)] };
  if (op === 'to-json') return { when: { toJSON: () => ({ t: Infinity }) } };
  return { pid: process.pid };
}
`;

const root = await backendPlugins('returns values JSON cannot carry', [
  ['json-py', 'backend.py', PYTHON],
  ['json-node', 'backend.mjs', NODE],
]);

const NO_NAN = 'JSON has no NaN or Infinity (send null or a string)';
const UNSAFE = "outside JavaScript's safe integer range ±(2^53 − 1): send large numbers as strings";
const returned = (what: string) => `run() returned a value that is not JSON: ${what}`;

/** What each op must be answered with on every host: the same words on both. */
const BOTH: Array<[op: string, message: string]> = [
  ['nan', returned(`result.x.nan is NaN; ${NO_NAN}`)],
  ['inf-list', returned(`result[1] is Infinity; ${NO_NAN}`)],
  ['neg-inf-key', returned(`result["a b"] is -Infinity; ${NO_NAN}`)],
  ['stream-nan', `run() yielded a value that is not JSON: chunk.v is NaN; ${NO_NAN}`],
];
const PYTHON_ONLY: Array<[op: string, message: string]> = [
  ['big', returned(`result.big is an integer of 1329 bits, ${UNSAFE}`)],
  ['n', returned(`result.n is 18446744073709551617, ${UNSAFE}`)],
  ['deep-neg', returned(`result.a[0].b is -9007199254740992, ${UNSAFE}`)],
  ['stream-int', `run() yielded a value that is not JSON: chunk.v is 1152921504606846976, ${UNSAFE}`],
];
const NODE_ONLY: Array<[op: string, message: string]> = [
  ['boxed', returned(`result.n[0] is NaN; ${NO_NAN}`)],
  ['to-json', returned(`result.when.t is Infinity; ${NO_NAN}`)],
];

for (const [id, cases] of [
  ['json-py', [...BOTH, ...PYTHON_ONLY]],
  ['json-node', [...BOTH, ...NODE_ONLY]],
] as const) {
  describe(`${id}: values JSON cannot carry`, () => {
    for (const [op, message] of cases) {
      test(`${op}: the call fails with a backend error naming the value and its path; the worker stays up`, async () => {
        const { workers } = manager();
        const plugin = await fixturePlugin(id, root);
        const { pid } = (await workers.infer(plugin, { op: 'pid' }, noSignal())) as { pid: number };
        await assert.rejects(workers.infer(plugin, { op }, noSignal(), () => undefined), (error: Error & { code: string; status: number }) => {
          assert.equal(error.code, 'backend_error');
          assert.equal(error.status, 500);
          assert.equal(error.message, `Plugin "${id}" backend raised TypeError: ${message}`);
          return true;
        });
        assert.equal(((await workers.infer(plugin, { op: 'pid' }, noSignal())) as { pid: number }).pid, pid, 'the same worker answers the next call');
      });
    }

    test('null, safe integers at the edge of the range, large floats and long digit strings pass unchanged', async () => {
      const { workers } = manager();
      assert.deepEqual(await workers.infer(await fixturePlugin(id, root), { op: 'fine' }, noSignal()), {
        n: null,
        list: [null],
        f: 1e300,
        max: Number.MAX_SAFE_INTEGER,
        min: -Number.MAX_SAFE_INTEGER,
        big: '1'.repeat(400),
        t: true,
      });
    });
  });
}

test('json-py: a large integer dict key is a string in JSON, so it passes', async () => {
  const { workers } = manager();
  assert.deepEqual(await workers.infer(await fixturePlugin('json-py', root), { op: 'int-key' }, noSignal()), { [String(10n ** 30n)]: 'keys are strings in JSON' });
});
