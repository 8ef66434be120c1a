import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createModelProvisioner } from './model-provisioner.js';
import { randomContent, sha256Hex, startModelServer, testPlugin, type TestModel } from './testing/model-test-server.js';

const CHILD = fileURLToPath(new URL('./testing/provision-child.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

interface ChildLine {
  event: 'progress' | 'done' | 'error';
  state?: string;
  receivedBytes?: number;
  env?: Record<string, string>;
  code?: string;
  message?: string;
}

/** Starts `provision-child.ts` and calls `onLine` for each JSON line it prints. `as` runs it as another user. */
function startChild(input: { modelsDir: string; pluginDir: string; pluginId: string; models: TestModel[] }, onLine: (line: ChildLine, child: ChildProcess) => void, as: { uid?: number; gid?: number } = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(input)], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], ...as });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    try {
      onLine(JSON.parse(text) as ChildLine, child);
    } catch {
      // Not one of ours (a warning printed by a dependency).
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { child, exited };
}

/** A temp folder and a model server serving `content` at /m.bin, both gone after the test; `models` declares that file. */
async function setUp(t: TestContext, name: string, content: Buffer, throttle?: { chunkBytes: number; delayMs: number }) {
  const root = await mkdtemp(join(tmpdir(), `aiplugs-${name}-`));
  const server = await startModelServer();
  t.after(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });
  server.files.set('/m.bin', { content, ...(throttle ? { throttle } : {}) });
  const models: TestModel[] = [{ key: 'MODEL', filename: 'm.bin', source_url: server.url('/m.bin'), sha256: sha256Hex(content) }];
  return { root, server, modelsDir: join(root, 'models'), models };
}

describe('model provisioner across processes', () => {
  it('resumes with Range after the downloading process is killed with SIGKILL', async (t) => {
    const content = randomContent(1024 * 1024);
    const { root, server, modelsDir, models } = await setUp(t, 'kill', content, { chunkBytes: 16 * 1024, delayMs: 10 });

    let killedAt = 0;
    const { exited } = startChild({ modelsDir, pluginDir: root, pluginId: 'p', models }, (line, child) => {
      if (line.event === 'progress' && line.state === 'downloading' && (line.receivedBytes ?? 0) >= 256 * 1024 && !killedAt) {
        killedAt = line.receivedBytes ?? 0;
        child.kill('SIGKILL');
      }
    });
    const { signal, stderr } = await exited;
    assert.equal(signal, 'SIGKILL', `the child should have been killed mid-download; stderr: ${stderr}`);
    const partBytes = (await stat(join(modelsDir, 'm.bin.part'))).size;
    assert.ok(partBytes >= killedAt, `the part keeps what was written (${partBytes} >= ${killedAt})`);
    assert.ok(partBytes < content.length);

    // The dead child's lock is taken over once stale (lockStaleMs 2000, the minimum).
    const env = await createModelProvisioner({ modelsDir, lockStaleMs: 2000, lockPollMs: 50 }).ensure(testPlugin('p', root, models));
    assert.equal(env.MODEL, join(modelsDir, 'm.bin'));
    assert.ok((await readFile(join(modelsDir, 'm.bin'))).equals(content));
    const requests = server.requestsFor('/m.bin');
    assert.equal(requests.length, 2);
    assert.equal(requests[1]?.headers.range, `bytes=${partBytes}-`);
  });

  it('lets two processes on one models folder produce one valid file with one download', async (t) => {
    const content = randomContent(512 * 1024);
    const { root, server, modelsDir, models } = await setUp(t, 'two', content, { chunkBytes: 32 * 1024, delayMs: 10 });
    await mkdir(modelsDir);
    const outcomes: ChildLine[][] = [[], []];
    const children = [0, 1].map((index) =>
      startChild({ modelsDir, pluginDir: root, pluginId: `p${index}`, models }, (line) => {
        if (line.event !== 'progress') outcomes[index]?.push(line);
      }),
    );
    const exits = await Promise.all(children.map((child) => child.exited));
    exits.forEach((exit, index) => assert.equal(exit.code, 0, `child ${index}: ${JSON.stringify(outcomes[index])} ${exit.stderr}`));
    for (const lines of outcomes) assert.deepEqual(lines, [{ event: 'done', env: { MODEL: join(modelsDir, 'm.bin') } }]);
    assert.ok((await readFile(join(modelsDir, 'm.bin'))).equals(content));
    assert.equal(server.requestsFor('/m.bin').length, 1, 'the second process waits for the lock and then trusts the finished file');
  });

  // Permissions mean nothing to root: as root, the child runs as "nobody", for whom they do.
  it('reports a models folder it may not write as permission_denied, naming the folder', { skip: process.platform === 'win32' }, async (t) => {
    const { root, server, modelsDir, models } = await setUp(t, 'readonly', randomContent(1024));
    await mkdir(modelsDir);
    await chmod(modelsDir, 0o555);
    await chmod(root, 0o755);
    const outcomes: ChildLine[] = [];
    const nobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const { exited } = startChild({ modelsDir, pluginDir: root, pluginId: 'p', models }, (line) => outcomes.push(line), nobody);
    const exit = await exited;
    const outcome = outcomes.find((line) => line.event !== 'progress');
    assert.equal(outcome?.code, 'permission_denied', `${JSON.stringify(outcome)} ${exit.stderr}`);
    assert.ok(outcome?.message?.includes(modelsDir) && outcome.message.includes('EACCES'), outcome?.message);
    assert.equal(server.requestsFor('/m.bin').length, 0, 'nothing is fetched that could not be kept');
  });
});
