import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { fixture, leftovers, rejectsWith, serve } from './testing/provisioner-fixture.js';
import { randomContent, sha256Hex, startModelServer, testPlugin } from './testing/model-test-server.js';

describe('model provisioner', () => {
  it('downloads a missing file, verifies it, reports progress and returns {KEY: absolute path}', async (t) => {
    const f = await fixture(t);
    const content = randomContent(256 * 1024);
    const plugin = serve(f, '/m.bin', content);
    const env = await f.provisioner().ensure(plugin);
    assert.deepEqual(env, { MODEL: join(f.modelsDir, 'm.bin') });
    assert.ok((await readFile(join(f.modelsDir, 'm.bin'))).equals(content));
    assert.deepEqual(await leftovers(f.modelsDir), []);
    const progress = f.events.filter((event) => event.type === 'model-progress');
    assert.ok(progress.some((event) => event.state === 'downloading' && event.plugin === 'p'));
    assert.equal(progress.at(-1)?.state, 'ready');
    assert.ok(f.logLines.some((line) => /Downloading model m\.bin for p… .*\(\d+\.\d%\)/.test(line)), f.logLines.join('\n'));
    assert.equal(f.server.requestsFor('/m.bin')[0]?.headers['accept-encoding'], 'identity');
  });

  it('trusts a verified file after a restart without downloading or re-hashing it', async (t) => {
    const f = await fixture(t);
    const content = randomContent(64 * 1024);
    const plugin = serve(f, '/m.bin', content);
    await f.provisioner().ensure(plugin);
    f.events.length = 0;
    const env = await f.provisioner().ensure(plugin);
    assert.equal(env.MODEL, join(f.modelsDir, 'm.bin'));
    assert.equal(f.server.requestsFor('/m.bin').length, 1);
    assert.ok(!f.events.some((event) => event.type === 'model-progress' && event.state === 'verifying'), 'the cache should spare a re-hash');
  });

  it('moves a present file with the wrong hash aside and fetches it again', async (t) => {
    const f = await fixture(t);
    const content = randomContent(64 * 1024);
    const plugin = serve(f, '/m.bin', content);
    await mkdir(f.modelsDir, { recursive: true });
    await writeFile(join(f.modelsDir, 'm.bin'), 'not the model');
    await f.provisioner().ensure(plugin);
    assert.ok((await readFile(join(f.modelsDir, 'm.bin'))).equals(content));
    const aside = (await readdir(f.modelsDir)).filter((name) => name.startsWith('m.bin.corrupt-'));
    assert.equal(aside.length, 1);
    assert.equal(await readFile(join(f.modelsDir, aside[0] ?? ''), 'utf8'), 'not the model');
  });

  it('resumes after a stall with Range and If-Range from the bytes already on disk', async (t) => {
    const f = await fixture(t);
    const content = randomContent(256 * 1024);
    const plugin = serve(f, '/m.bin', content, { script: [{ stallAfter: 100_000 }] });
    await f.provisioner().ensure(plugin);
    assert.ok((await readFile(join(f.modelsDir, 'm.bin'))).equals(content));
    const [first, second] = f.server.requestsFor('/m.bin');
    assert.equal(first?.headers.range, undefined);
    assert.equal(second?.headers.range, 'bytes=100000-');
    assert.equal(second?.headers['if-range'], `"${sha256Hex(content).slice(0, 16)}"`);
  });

  it('publishes the bytes a burst brought once the progress interval ends, though none follow (a stall)', async (t) => {
    // Before: the burst's progress fell inside the interval and was dropped, and with no byte after
    // it every event said 0 bytes until the stall retry, while GET /api/models said 38%.
    const f = await fixture(t);
    const content = randomContent(256 * 1024);
    const plugin = serve(f, '/m.bin', content, { script: [{ stallAfter: 100_000 }] });
    const done = f.provisioner({ progressIntervalMs: 200, stallTimeoutMs: 5_000 }).ensure(plugin);
    const burst = () => f.events.some((event) => event.type === 'model-progress' && event.state === 'downloading' && event.receivedBytes === 100_000);
    while (!burst() && f.server.requestsFor('/m.bin').length < 2) await sleep(20);
    assert.ok(burst(), 'no event told of the 100,000 bytes before the stall retry');
    assert.equal(f.server.requestsFor('/m.bin').length, 1);
    await done;
    assert.equal(f.events.filter((event) => event.type === 'model-progress').at(-1)?.state, 'ready');
  });

  it('resumes after a connection reset', async (t) => {
    const f = await fixture(t);
    const content = randomContent(256 * 1024);
    const plugin = serve(f, '/m.bin', content, { script: [{ resetAfter: 50_000 }] });
    await f.provisioner().ensure(plugin);
    assert.ok((await readFile(join(f.modelsDir, 'm.bin'))).equals(content));
    assert.equal(f.server.requestsFor('/m.bin').length, 2);
  });

  it('restarts from 0 when the server ignores Range (answers 200)', async (t) => {
    const f = await fixture(t);
    const content = randomContent(256 * 1024);
    const plugin = serve(f, '/m.bin', content, { ranges: false, script: [{ stallAfter: 100_000 }] });
    await f.provisioner().ensure(plugin);
    assert.ok((await readFile(join(f.modelsDir, 'm.bin'))).equals(content));
    const requests = f.server.requestsFor('/m.bin');
    assert.equal(requests.length, 2, 'the 200 body is used directly, not requested again');
    assert.equal(requests[1]?.headers.range, 'bytes=100000-');
  });

  it('restarts from 0 when the file changed between attempts (If-Range with the old ETag)', async (t) => {
    const f = await fixture(t);
    const v1 = randomContent(256 * 1024);
    const v2 = randomContent(256 * 1024);
    f.server.files.set('/m.bin', { content: v1, etag: '"v1"', script: [{ stallAfter: 100_000 }] });
    const plugin = testPlugin('p', f.pluginDir, [{ key: 'MODEL', filename: 'm.bin', source_url: f.server.url('/m.bin'), sha256: sha256Hex(v2) }]);
    const done = f.provisioner().ensure(plugin);
    while (f.server.requestsFor('/m.bin').length === 0) await sleep(5);
    f.server.files.set('/m.bin', { content: v2, etag: '"v2"' });
    await done;
    assert.ok((await readFile(join(f.modelsDir, 'm.bin'))).equals(v2));
    const second = f.server.requestsFor('/m.bin')[1];
    assert.equal(second?.headers['if-range'], '"v1"');
  });

  it('restarts from 0 when a server ignores If-Range but its ETag changed', async (t) => {
    const f = await fixture(t);
    const v1 = randomContent(256 * 1024);
    const v2 = randomContent(256 * 1024);
    f.server.files.set('/m.bin', { content: v1, etag: '"v1"', script: [{ stallAfter: 100_000 }] });
    const plugin = testPlugin('p', f.pluginDir, [{ key: 'MODEL', filename: 'm.bin', source_url: f.server.url('/m.bin'), sha256: sha256Hex(v2) }]);
    const done = f.provisioner().ensure(plugin);
    while (f.server.requestsFor('/m.bin').length === 0) await sleep(5);
    f.server.files.set('/m.bin', { content: v2, etag: '"v2"', ifRange: false });
    await done;
    assert.ok((await readFile(join(f.modelsDir, 'm.bin'))).equals(v2));
    const requests = f.server.requestsFor('/m.bin');
    assert.equal(requests.length, 3);
    assert.equal(requests[2]?.headers.range, undefined);
  });

  it('restarts from 0 on a wrong Content-Range', async (t) => {
    const f = await fixture(t);
    const content = randomContent(256 * 1024);
    const plugin = serve(f, '/m.bin', content, { wrongContentRange: true, script: [{ stallAfter: 100_000 }] });
    await f.provisioner().ensure(plugin);
    assert.ok((await readFile(join(f.modelsDir, 'm.bin'))).equals(content));
    const requests = f.server.requestsFor('/m.bin');
    assert.equal(requests.length, 3);
    assert.equal(requests[2]?.headers.range, undefined);
  });

  it('fails a hash mismatch with expected and actual hash and the URL, leaving no file behind', async (t) => {
    const f = await fixture(t);
    const content = randomContent(64 * 1024);
    f.server.files.set('/m.bin', { content });
    const expected = sha256Hex(Buffer.from('something else'));
    const plugin = testPlugin('p', f.pluginDir, [{ key: 'MODEL', filename: 'm.bin', source_url: f.server.url('/m.bin'), sha256: expected }]);
    const error = await rejectsWith(f.provisioner().ensure(plugin), 'hash_mismatch');
    assert.match(error.message, new RegExp(expected));
    assert.match(error.message, new RegExp(sha256Hex(content)));
    assert.match(error.message, new RegExp(f.server.url('/m.bin').replace(/[.]/g, '\\.')));
    assert.deepEqual(await readdir(f.modelsDir).then((names) => names.filter((n) => !n.startsWith('.'))), []);
    assert.equal(f.server.requestsFor('/m.bin').length, 2, 'the same wrong bytes twice are not retried again');
  });

  it('rejects a size that contradicts the manifest before downloading the body', async (t) => {
    const f = await fixture(t);
    const content = randomContent(64 * 1024);
    f.server.files.set('/m.bin', { content });
    const plugin = testPlugin('p', f.pluginDir, [{ key: 'MODEL', filename: 'm.bin', source_url: f.server.url('/m.bin'), sha256: sha256Hex(content), size: 1234 }]);
    const error = await rejectsWith(f.provisioner().ensure(plugin), 'hash_mismatch');
    assert.match(error.message, /65536 bytes, the manifest declares 1234/);
  });

  it('fails 404 and 403 at once with a specific message', async (t) => {
    const f = await fixture(t);
    const missing = testPlugin('p', f.pluginDir, [{ key: 'MODEL', filename: 'gone.bin', source_url: f.server.url('/gone.bin'), sha256: 'a'.repeat(64) }]);
    const error = await rejectsWith(f.provisioner().ensure(missing), 'not_found');
    assert.match(error.message, /HTTP 404: .*gone\.bin does not exist/);
    assert.equal(f.server.requestsFor('/gone.bin').length, 1);
    f.server.files.set('/secret.bin', { content: Buffer.from('x'), script: [{ status: 403 }] });
    const denied = testPlugin('p', f.pluginDir, [{ key: 'MODEL', filename: 'secret.bin', source_url: f.server.url('/secret.bin'), sha256: 'a'.repeat(64) }]);
    await rejectsWith(f.provisioner().ensure(denied), 'forbidden');
    assert.equal(f.server.requestsFor('/secret.bin').length, 1);
  });

  it('retries 503, 429 with Retry-After and 408, then succeeds', async (t) => {
    const f = await fixture(t);
    const content = randomContent(32 * 1024);
    const plugin = serve(f, '/m.bin', content, { script: [{ status: 503 }, { status: 429, headers: { 'retry-after': '0' } }, { status: 408 }] });
    await f.provisioner().ensure(plugin);
    assert.equal(f.server.requestsFor('/m.bin').length, 4);
    assert.ok(f.logLines.some((line) => line.includes('HTTP 429') && line.includes('retry 2/5')));
  });

  it('gives up after the configured retries with a network error', async (t) => {
    const f = await fixture(t);
    const plugin = serve(f, '/m.bin', randomContent(1024), { script: [{ status: 500 }, { status: 500 }, { status: 500 }] });
    await rejectsWith(f.provisioner({ retries: 2 }).ensure(plugin), 'network');
    assert.equal(f.server.requestsFor('/m.bin').length, 3);
  });

  it('falls back to the declared mirrors in order', async (t) => {
    const f = await fixture(t);
    const content = randomContent(32 * 1024);
    f.server.files.set('/backup/m.bin', { content });
    const plugin = testPlugin('p', f.pluginDir, [
      { key: 'MODEL', filename: 'm.bin', source_url: f.server.url('/missing/m.bin'), mirrors: [f.server.url('/backup/m.bin')], sha256: sha256Hex(content) },
    ]);
    await f.provisioner().ensure(plugin);
    assert.deepEqual(f.server.requests.map((request) => request.path), ['/missing/m.bin', '/backup/m.bin']);
  });

  it('shares one download between 10 concurrent ensure calls from two plugins', async (t) => {
    const f = await fixture(t);
    const content = randomContent(256 * 1024);
    f.server.files.set('/m.bin', { content, throttle: { chunkBytes: 32 * 1024, delayMs: 5 } });
    const declaration = { key: 'MODEL', filename: 'm.bin', source_url: f.server.url('/m.bin'), sha256: sha256Hex(content) };
    const a = testPlugin('a', f.pluginDir, [declaration]);
    const b = testPlugin('b', f.pluginDir, [{ ...declaration, key: 'OTHER_KEY' }]);
    const provisioner = f.provisioner();
    const seen = new Array<number>(10).fill(0);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => provisioner.ensure(i % 2 ? b : a, { onProgress: () => (seen[i] = (seen[i] ?? 0) + 1) })),
    );
    assert.equal(f.server.requestsFor('/m.bin').length, 1);
    assert.deepEqual(new Set(results.map((env) => env.MODEL ?? env.OTHER_KEY)), new Set([join(f.modelsDir, 'm.bin')]));
    assert.ok(seen.every((count) => count > 0), 'every caller sees the progress');
    const plugins = new Set(f.events.flatMap((event) => (event.type === 'model-progress' ? [event.plugin] : [])));
    assert.deepEqual(plugins, new Set(['a', 'b']));
  });

  it('keeps the part when the only caller cancels, and resumes it next time', async (t) => {
    const f = await fixture(t);
    const content = randomContent(512 * 1024);
    const plugin = serve(f, '/m.bin', content, { throttle: { chunkBytes: 32 * 1024, delayMs: 10 } });
    const controller = new AbortController();
    const provisioner = f.provisioner();
    const first = provisioner.ensure(plugin, {
      signal: controller.signal,
      onProgress: (progress) => {
        if (progress.receivedBytes >= 128 * 1024) controller.abort();
      },
    });
    await rejectsWith(first, 'aborted');
    // The shared job winds down asynchronously; wait until its lock is released.
    while (existsSync(join(f.modelsDir, 'm.bin.lock'))) await sleep(10);
    const kept = (await stat(join(f.modelsDir, 'm.bin.part'))).size;
    assert.ok(kept > 0);
    await provisioner.ensure(plugin);
    assert.ok((await readFile(join(f.modelsDir, 'm.bin'))).equals(content));
    const range = f.server.requestsFor('/m.bin')[1]?.headers.range;
    assert.equal(range, `bytes=${kept}-`);
  });

  it('close() stops running downloads, keeps their parts and releases their locks', async (t) => {
    const f = await fixture(t);
    const content = randomContent(512 * 1024);
    const plugin = serve(f, '/m.bin', content, { throttle: { chunkBytes: 32 * 1024, delayMs: 10 } });
    const provisioner = f.provisioner();
    let started!: () => void;
    const downloading = new Promise<void>((resolve) => (started = resolve));
    const pending = provisioner.ensure(plugin, { onProgress: (progress) => progress.receivedBytes > 0 && started() });
    await downloading;
    await provisioner.close();
    await rejectsWith(pending, 'aborted');
    assert.ok((await stat(join(f.modelsDir, 'm.bin.part'))).size > 0);
    assert.ok(!existsSync(join(f.modelsDir, 'm.bin.lock')));
    assert.ok(!existsSync(join(f.modelsDir, 'm.bin')));
  });

  it('offline: never touches the network and names the missing model', async (t) => {
    const f = await fixture(t);
    const content = randomContent(1024);
    const plugin = serve(f, '/m.bin', content);
    const error = await rejectsWith(f.provisioner({ offline: true }).ensure(plugin), 'offline');
    assert.match(error.message, /Model m\.bin for p is missing/);
    assert.match(error.message, /AIPLUGS_OFFLINE/);
    assert.equal(f.server.requests.length, 0);
    await f.provisioner().ensure(plugin);
    assert.deepEqual(await f.provisioner({ offline: true }).ensure(plugin), { MODEL: join(f.modelsDir, 'm.bin') });
    assert.equal(f.server.requests.length, 1);
  });

  it('rewrites source hosts onto a mirror (catch-all and per-host forms)', async (t) => {
    const f = await fixture(t);
    const content = randomContent(8 * 1024);
    f.server.files.set('/mirror/org/repo/m.bin', { content });
    f.server.files.set('/per-host/org/repo/m.bin', { content });
    // Port 9 on loopback: nothing listens there, so an unrewritten URL would fail loudly.
    const plugin = testPlugin('p', f.pluginDir, [{ key: 'MODEL', filename: 'm.bin', source_url: 'http://127.0.0.1:9/org/repo/m.bin', sha256: sha256Hex(content) }]);
    await f.provisioner({ mirror: `${f.server.origin}/mirror/` }).ensure(plugin);
    await rm(f.modelsDir, { recursive: true });
    await f.provisioner({ mirror: `example.org=http://127.0.0.1:9/x, 127.0.0.1:9=${f.server.origin}/per-host` }).ensure(plugin);
    assert.deepEqual(f.server.requests.map((request) => request.path), ['/mirror/org/repo/m.bin', '/per-host/org/repo/m.bin']);
    assert.throws(() => f.provisioner({ mirror: 'ftp://nope' }), /must be an http: or https: URL/);
  });

  it('copies file: sources, relative to the plugin folder or absolute, offline too', async (t) => {
    const f = await fixture(t);
    const content = randomContent(100 * 1024);
    await mkdir(join(f.pluginDir, 'weights'));
    await writeFile(join(f.pluginDir, 'weights', 'local.bin'), content);
    const absolute = join(f.root, 'elsewhere.bin');
    await writeFile(absolute, content);
    const sha256 = sha256Hex(content);
    const plugin = testPlugin('p', f.pluginDir, [
      { key: 'RELATIVE', filename: 'rel.bin', source_url: 'file:weights/local.bin', sha256 },
      { key: 'ABSOLUTE', filename: 'abs.bin', source_url: pathToFileURL(absolute).href, sha256 },
      { key: 'ABSOLUTE_SHORT', filename: 'abs2.bin', source_url: `file:${absolute}`, sha256 },
    ]);
    const env = await f.provisioner({ offline: true }).ensure(plugin);
    for (const [key, name] of [['RELATIVE', 'rel.bin'], ['ABSOLUTE', 'abs.bin'], ['ABSOLUTE_SHORT', 'abs2.bin']] as const) {
      assert.equal(env[key], join(f.modelsDir, name));
      assert.ok((await readFile(join(f.modelsDir, name))).equals(content));
    }
    assert.ok(existsSync(join(f.pluginDir, 'weights', 'local.bin')), 'the source is copied, never moved');
    const missing = testPlugin('p', f.pluginDir, [{ key: 'M', filename: 'none.bin', source_url: 'file:weights/none.bin', sha256 }]);
    await rejectsWith(f.provisioner().ensure(missing), 'not_found');
  });

  it('rejects a file name that would leave the models folder', async (t) => {
    const f = await fixture(t);
    for (const filename of ['../evil.bin', 'sub/evil.bin', '..', '.hidden', 'x.part']) {
      const plugin = testPlugin('p', f.pluginDir, [{ key: 'M', filename: 'ok.bin', source_url: f.server.url('/evil.bin'), sha256: 'a'.repeat(64) }]);
      const [declaration] = plugin.manifest.inference?.models ?? [];
      if (declaration) declaration.filename = filename;
      await rejectsWith(f.provisioner().ensure(plugin), 'invalid_declaration');
    }
    assert.equal(f.server.requests.length, 0);
    assert.ok(!existsSync(join(f.root, 'evil.bin')));
  });

  it('refuses a source URL with a malformed %-escape as invalid_declaration, keeping credentials out of the message', async (t) => {
    const f = await fixture(t);
    const sha256 = 'a'.repeat(64);
    const declared = (source_url: string) => testPlugin('p', f.pluginDir, [{ key: 'M', filename: 'm.bin', source_url, sha256 }]);
    const fileError = await rejectsWith(f.provisioner().ensure(declared('file:weights/%zz')), 'invalid_declaration');
    assert.match(fileError.message, /"file:weights\/%zz" has a malformed %-escape/);
    const credentialsError = await rejectsWith(f.provisioner().ensure(declared(f.server.url('/m.bin').replace('//', '//user:s3cret%zz@'))), 'invalid_declaration');
    assert.match(credentialsError.message, /malformed %-escape/);
    assert.doesNotMatch(credentialsError.message, /s3cret/);
    assert.equal(f.server.requests.length, 0);
  });

  /** A part-file stream whose every write fails with `code`, as a full disk or a read-only folder does. */
  const failingWrites = (code: string, message: string) => () =>
    new Writable({
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error(message), { code }));
      },
    });

  const fatalWriteErrors = [
    { name: 'on a full disk (no retry, no other source)', code: 'ENOSPC', message: 'ENOSPC: no space left on device, write', size: 64 * 1024, expected: 'disk_full', reported: /m\.bin\.part/ },
    { name: 'when the models folder is not writable', code: 'EACCES', message: 'EACCES: permission denied, open', size: 8 * 1024, expected: 'permission_denied', reported: /Permission denied writing .*m\.bin\.part/ },
  ] as const;
  for (const failure of fatalWriteErrors) {
    it(`fails at once ${failure.name}`, async (t) => {
      const f = await fixture(t);
      const plugin = serve(f, '/m.bin', randomContent(failure.size));
      const error = await rejectsWith(f.provisioner({ createPartStream: failingWrites(failure.code, failure.message) }).ensure(plugin), failure.expected);
      assert.match(error.message, failure.reported);
      assert.equal(f.server.requestsFor('/m.bin').length, 1);
    });
  }

  it('times out a server that never sends headers, then retries', async (t) => {
    const f = await fixture(t);
    const content = randomContent(8 * 1024);
    const plugin = serve(f, '/m.bin', content, { script: [{ hang: true }] });
    await f.provisioner().ensure(plugin);
    assert.ok((await readFile(join(f.modelsDir, 'm.bin'))).equals(content));
    assert.equal(f.server.requestsFor('/m.bin').length, 2);
    assert.ok(f.logLines.some((line) => line.includes('(stalled)')));
  });


  it('sends credentials from the URL to its own host only, never across a redirect', async (t) => {
    const f = await fixture(t);
    const other = await startModelServer();
    t.after(() => other.close());
    const content = randomContent(4 * 1024);
    const basic = `Basic ${Buffer.from('user:secret').toString('base64')}`;
    other.files.set('/cdn/m.bin', { content });
    f.server.files.set('/same/m.bin', { content, requireAuthorization: basic });
    f.server.files.set('/hop-same', { content, redirectTo: f.server.url('/same/m.bin') });
    f.server.files.set('/hop-away', { content, redirectTo: `http://localhost:${other.port}/cdn/m.bin` });
    const withAuth = (path: string, filename: string) =>
      testPlugin('p', f.pluginDir, [{ key: 'M', filename, source_url: f.server.url(path).replace('http://', 'http://user:secret@'), sha256: sha256Hex(content) }]);
    await f.provisioner().ensure(withAuth('/hop-same', 'same.bin'));
    assert.equal(f.server.requestsFor('/same/m.bin')[0]?.headers.authorization, basic);
    await f.provisioner().ensure(withAuth('/hop-away', 'away.bin'));
    assert.equal(f.server.requestsFor('/hop-away')[0]?.headers.authorization, basic);
    assert.equal(other.requestsFor('/cdn/m.bin').length, 1);
    assert.equal(other.requestsFor('/cdn/m.bin')[0]?.headers.authorization, undefined);
  });

  it('cleans .part files older than the configured age that nobody is writing', async (t) => {
    const f = await fixture(t);
    await mkdir(f.modelsDir, { recursive: true });
    const old = join(f.modelsDir, 'old.bin.part');
    const fresh = join(f.modelsDir, 'fresh.bin.part');
    await writeFile(old, 'x');
    await writeFile(fresh, 'x');
    const past = new Date(Date.now() - 3 * 3_600_000);
    await utimes(old, past, past);
    const removed = await f.provisioner({ stalePartHours: 2 }).cleanStaleParts();
    assert.deepEqual(removed, [old]);
    assert.ok(existsSync(fresh));
  });

  it('lists states, verifies by re-hashing, and garbage-collects undeclared files', async (t) => {
    const f = await fixture(t);
    const a = randomContent(8 * 1024);
    const b = randomContent(8 * 1024);
    f.server.files.set('/a.bin', { content: a });
    const one = testPlugin('one', f.pluginDir, [
      { key: 'A', filename: 'a.bin', source_url: f.server.url('/a.bin'), sha256: sha256Hex(a), size: a.length },
      { key: 'B', filename: 'b.bin', source_url: f.server.url('/b.bin'), sha256: sha256Hex(b) },
    ]);
    const two = testPlugin('two', f.pluginDir, [{ key: 'A2', filename: 'a.bin', source_url: f.server.url('/a.bin'), sha256: sha256Hex(a) }]);
    const clash = testPlugin('three', f.pluginDir, [{ key: 'C', filename: 'c.bin', source_url: f.server.url('/c.bin'), sha256: 'c'.repeat(64) }]);
    const clash2 = testPlugin('four', f.pluginDir, [{ key: 'C', filename: 'c.bin', source_url: f.server.url('/c.bin'), sha256: 'd'.repeat(64) }]);
    const provisioner = f.provisioner();
    const [pulled] = await provisioner.pull([two]);
    assert.equal(pulled?.ok, true);
    const byName = async () => new Map((await provisioner.list([one, two, clash, clash2])).map((status) => [status.filename, status]));
    let list = await byName();
    assert.equal(list.get('a.bin')?.state, 'ready');
    assert.equal(list.get('a.bin')?.sizeOnDisk, a.length);
    assert.deepEqual(list.get('a.bin')?.plugins, [{ id: 'one', key: 'A' }, { id: 'two', key: 'A2' }]);
    assert.equal(list.get('b.bin')?.state, 'missing');
    assert.equal(list.get('c.bin')?.state, 'conflict');

    await writeFile(join(f.modelsDir, 'b.bin'), b);
    assert.equal((await byName()).get('b.bin')?.state, 'unverified');
    // Same size, different bytes, same mtime: only a real re-hash can tell.
    const aPath = join(f.modelsDir, 'a.bin');
    const { mtime } = await stat(aPath);
    await writeFile(aPath, randomContent(a.length));
    await utimes(aPath, mtime, mtime);
    const verified = new Map((await provisioner.verify([one, two])).map((result) => [result.filename, result]));
    assert.equal(verified.get('a.bin')?.state, 'corrupt');
    assert.equal(verified.get('b.bin')?.state, 'ready');
    list = await byName();
    assert.equal(list.get('a.bin')?.state, 'corrupt');
    assert.equal(list.get('b.bin')?.state, 'ready');

    await writeFile(join(f.modelsDir, 'orphan.bin'), 'orphan');
    await writeFile(join(f.modelsDir, 'a.bin.corrupt-1'), 'old');
    await mkdir(join(f.modelsDir, 'somedir'));
    const dry = await provisioner.gc([one, two], { dryRun: true });
    assert.deepEqual(dry.removed.map((entry) => entry.name).sort(), ['a.bin.corrupt-1', 'orphan.bin']);
    assert.deepEqual(dry.skipped.map((entry) => entry.name), ['somedir']);
    assert.ok(existsSync(join(f.modelsDir, 'orphan.bin')));
    await provisioner.gc([one, two]);
    assert.deepEqual((await readdir(f.modelsDir)).filter((name) => !name.startsWith('.')).sort(), ['a.bin', 'b.bin', 'somedir']);
  });
});
