import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { WebSocket } from 'ws';
import { FIXTURE_PLUGINS, processAlive, waitFor } from './test-support.js';

const CLI = fileURLToPath(new URL('../../bin/aiplugs.js', import.meta.url));
const children: ChildProcess[] = [];
after(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

/** The real CLI, as a user starts it, on throw-away ports and folders. */
async function startGateway() {
  const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-workers-gw-'));
  after(() => rm(dataDir, { recursive: true, force: true }));
  const child = spawn(process.execPath, [CLI, 'start', '--json', '--api-port', '0', '--proxy-port', '0', '--data-dir', dataDir, '--plugins-dir', FIXTURE_PLUGINS, '--models-dir', join(dataDir, 'models')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const ready = await new Promise<{ apiUrl: string; apiPort: number }>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line) as { apiUrl: string; apiPort: number }));
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code} before ready:\n${log}`)));
  });
  const token = (await readFile(join(dataDir, 'token'), 'utf8')).trim();
  const call = async (path: string, body?: unknown) => {
    const response = await fetch(`${ready.apiUrl}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, ready, token, call, exited, log: () => log };
}

const workerPid = async (call: (path: string, body?: unknown) => Promise<{ status: number; body: Record<string, unknown> }>, plugin: string) => {
  const answer = await call(`/api/plugins/${plugin}/infer`, { payload: { from: 'test' } });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  const result = answer.body.result as { echo: unknown; pid: number };
  assert.deepEqual(result.echo, { from: 'test' });
  return result.pid;
};

test('SIGTERM to the gateway stops every worker: no child outlives it', async () => {
  const gateway = await startGateway();
  const pids = [await workerPid(gateway.call, 'node-ops'), await workerPid(gateway.call, 'py-ops')];
  for (const pid of pids) assert.equal(processAlive(pid), true);
  const workers = (await gateway.call('/api/workers')).body.workers as Array<{ plugin: string; state: string; pid: number }>;
  assert.deepEqual(workers.map((worker) => [worker.plugin, worker.state]).sort(), [['node-ops', 'ready'], ['py-ops', 'ready']]);

  // A backend exception over HTTP: a clear error body, and the worker stays.
  const raised = await gateway.call('/api/plugins/py-ops/infer', { payload: { op: 'raise', message: 'no such thing' } });
  assert.equal(raised.status, 500);
  assert.deepEqual(raised.body, { error: { code: 'backend_error', message: 'Plugin "py-ops" backend raised ValueError: no such thing' } });

  gateway.child.kill('SIGTERM');
  const { code } = await gateway.exited;
  assert.equal(code, 0, gateway.log());
  for (const pid of pids) assert.equal(processAlive(pid), false, `worker ${pid} outlived the gateway`);
  assert.match(gateway.log(), /\[node-ops\] node-ops backend loaded/);
});

test('an HTTP call running when the gateway stops is answered 503 shutting_down, not with an empty reply', async () => {
  const gateway = await startGateway();
  await workerPid(gateway.call, 'node-ops');
  const running = gateway.call('/api/plugins/node-ops/infer', { payload: { op: 'sleep', ms: 60_000 } }).catch((error: Error) => `no answer: ${error.message} (${String((error.cause as Error | undefined)?.message)})`);
  const inFlight = async () => ((await gateway.call('/api/workers')).body.workers as Array<{ inFlight: number }>)[0]?.inFlight;
  await waitFor(async () => (await inFlight()) === 1, 'the call to reach the worker');
  gateway.child.kill('SIGTERM');
  assert.deepEqual(await running, { status: 503, body: { error: { code: 'shutting_down', message: 'The gateway is shutting down' } } });
  assert.equal((await gateway.exited).code, 0);
});

test('an event stream open when the gateway stops ends, where its reader saw the connection cut ("terminated")', async () => {
  const gateway = await startGateway();
  const response = await fetch(`${gateway.ready.apiUrl}/api/events`, { headers: { authorization: `Bearer ${gateway.token}` } });
  assert.equal(response.status, 200);
  const reader = response.body!.getReader();
  await reader.read(); // The replayed history: the stream is open.
  gateway.child.kill('SIGTERM');
  let text = '';
  const read = async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return 'ended';
      text += Buffer.from(value).toString();
    }
  };
  assert.equal(await read().catch((error: Error) => `failed: ${error.message}`), 'ended');
  assert.match(text, /Shutting down/, 'the events of the shutdown came before the end');
  assert.equal((await gateway.exited).code, 0);
});

test('a gateway killed with SIGKILL leaves no worker running: they notice and exit', async () => {
  const gateway = await startGateway();
  const pids = [await workerPid(gateway.call, 'node-ops'), await workerPid(gateway.call, 'py-ops')];
  gateway.child.kill('SIGKILL');
  await gateway.exited;
  for (const pid of pids) await waitFor(() => !processAlive(pid), `orphaned worker ${pid} to exit`);
});

test('the real gateway streams over SSE and over its WebSocket', async () => {
  const gateway = await startGateway();
  const sse = await fetch(`${gateway.ready.apiUrl}/api/plugins/node-ops/infer/stream`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ payload: { op: 'stream', count: 2 } }),
  });
  assert.match(sse.headers.get('content-type') ?? '', /text\/event-stream/);
  const text = await sse.text();
  assert.deepEqual(
    [...text.matchAll(/event: (\w+)\ndata: (.*)\n/g)].map((match) => [match[1], JSON.parse(match[2]!)]),
    [
      ['chunk', { part: 0 }],
      ['chunk', { part: 1 }],
      ['result', { result: [{ part: 0 }, { part: 1 }], mode: 'local' }],
    ],
  );

  const ws = new WebSocket(`ws://127.0.0.1:${gateway.ready.apiPort}/ws?plugin_id=node-ops&client_id=t1&token=${gateway.token}`);
  const messages: Array<{ type: string }> = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data)) as { type: string }));
  await waitFor(() => messages.length === 1, 'hello');
  ws.send(JSON.stringify({ type: 'infer', id: 1, payload: { op: 'stream', count: 2 } }));
  await waitFor(() => messages.some((message) => message.type === 'result'), 'the result');
  assert.deepEqual(
    messages.map((message) => message.type),
    ['hello', 'chunk', 'chunk', 'result'],
  );
  ws.close();
  gateway.child.kill('SIGTERM');
  assert.equal((await gateway.exited).code, 0);
});

test('an HTTP caller that goes away cancels its call in the worker', async () => {
  const gateway = await startGateway();
  const pid = await workerPid(gateway.call, 'node-ops');
  const controller = new AbortController();
  const abandoned = fetch(`${gateway.ready.apiUrl}/api/plugins/node-ops/infer`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ payload: { op: 'sleep', ms: 60_000 } }),
    signal: controller.signal,
  }).catch((error: Error) => error.name);
  const status = async () => ((await gateway.call('/api/workers')).body.workers as Array<{ inFlight: number; pid: number }>)[0]!;
  await waitFor(async () => (await status()).inFlight === 1, 'the call to reach the worker');
  controller.abort();
  assert.equal(await abandoned, 'AbortError');
  await waitFor(async () => (await status()).inFlight === 0, 'the worker to drop the abandoned call');
  assert.equal((await status()).pid, pid, 'cancelled, not restarted');
  gateway.child.kill('SIGTERM');
  await gateway.exited;
});
