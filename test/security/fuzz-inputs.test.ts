/**
 * Security checklist 5 — inputs. Manifests, config, API bodies and paths are fuzzed with
 * fast-check (fixed seeds, so a failure reproduces): every bad input gets a specific error and
 * nothing crashes or escapes the plugin folder.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { REPO_ROOT, startGatewayProcess, type GatewayChild } from '../../e2e/support/gateway-process.js';
import { ConfigError, envNameFor, flattenConfig, loadConfig } from '../../gateway/src/config/load-config.js';
import { isSafeRelativePath, manifestSchema, modelFilenameSchema, pluginIdSchema } from '../../gateway/src/plugins/manifest-schema.js';
import { loadPlugin } from '../../gateway/src/plugins/plugin-registry.js';

const SEED = 20261129;

/** Paths that must never be accepted anywhere a plugin names a file. */
const TRAVERSALS = ['..', '../x', 'a/../../x', '/etc/passwd', '\\\\server\\share\\x', 'C:\\x', 'C:/x', 'a\\..\\b', 'a\0b', './', 'a//b', ''];

const validManifest = {
  manifest_version: 3,
  id: 'fuzz',
  name: 'Fuzz',
  version: '1.0.0',
  content_scripts: [{ matches: ['<all_urls>'], js: ['content.js'] }],
  inference: { default_mode: 'local', local_entry: 'backend.js', models: [{ key: 'MODEL', filename: 'm.bin', source_url: 'https://example.com/m', sha256: 'a'.repeat(64) }] },
};

/** Arbitrary edits of a valid manifest: each field replaced by anything, including traversal strings. */
const mutatedManifest = fc
  .record({
    path: fc.constantFrom(['id'], ['name'], ['manifest_version'], ['content_scripts', 0, 'js', 0], ['content_scripts', 0, 'matches', 0], ['content_scripts', 0, 'run_at'], ['inference', 'default_mode'], ['inference', 'local_entry'], ['inference', 'models', 0, 'key'], ['inference', 'models', 0, 'filename'], ['inference', 'models', 0, 'sha256'], ['inference', 'models', 0, 'source_url'], ['content_scripts'], ['inference']),
    value: fc.oneof(fc.constantFrom(...TRAVERSALS), fc.string(), fc.anything(), fc.integer()),
  })
  .map(({ path, value }) => {
    const copy = structuredClone(validManifest) as Record<string, unknown>;
    let node: Record<string | number, unknown> = copy;
    for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
    node[path.at(-1) as string | number] = value;
    return copy;
  });

describe('manifest fuzzing', () => {
  it('the schema never throws and never accepts an unsafe path, name or key', () => {
    fc.assert(
      fc.property(fc.oneof(mutatedManifest, fc.anything()), (input) => {
        const parsed = manifestSchema.safeParse(input);
        if (!parsed.success) {
          assert.ok(parsed.error.issues.length > 0 && parsed.error.issues.every((issue) => issue.message.length > 0));
          return;
        }
        const manifest = parsed.data;
        for (const script of manifest.content_scripts) for (const file of [...script.js, ...script.css]) assert.ok(isSafeRelativePath(file), file);
        if (manifest.inference?.local_entry) assert.ok(isSafeRelativePath(manifest.inference.local_entry));
        for (const model of manifest.inference?.models ?? []) {
          assert.ok(!/[/\\\0]/.test(model.filename) && !model.filename.startsWith('.'));
          assert.match(model.key, /^[A-Za-z_][A-Za-z0-9_]*$/);
        }
        assert.match(manifest.id, /^[a-z0-9][a-z0-9._-]*$/);
      }),
      { seed: SEED, numRuns: 5000 },
    );
  });

  it('rejects every traversal form in ids, file names and paths', () => {
    for (const bad of TRAVERSALS) {
      assert.equal(isSafeRelativePath(bad), false, JSON.stringify(bad));
      assert.equal(pluginIdSchema.safeParse(bad).success, false, JSON.stringify(bad));
      if (bad !== '') assert.equal(modelFilenameSchema.safeParse(bad).success, bad === 'C:\\x' ? false : !/[/\\\0]|^\./.test(bad), JSON.stringify(bad));
    }
  });

  it('loading never throws: every broken plugin folder becomes a specific error', async () => {
    const root = await mkdtemp(join(tmpdir(), 'aiplugs-fuzz-'));
    let index = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutatedManifest.map((m) => JSON.stringify(m)), fc.string()), async (text) => {
        const dir = join(root, `p${index++}`);
        await mkdir(dir);
        await writeFile(join(dir, 'content.js'), '');
        await writeFile(join(dir, 'backend.js'), '');
        await writeFile(join(dir, 'manifest.json'), text);
        const record = await loadPlugin(dir, 'p');
        if (record.status === 'error') assert.ok(record.errors.length > 0 && record.errors.every((line) => /\S: \S/.test(line)), record.errors.join('|'));
      }),
      { seed: SEED, numRuns: 400 },
    );
  });
});

describe('config fuzzing', () => {
  it('any environment either loads or fails with a ConfigError naming the key', async () => {
    const keys = flattenConfig(JSON.parse(await (await import('node:fs/promises')).readFile(join(REPO_ROOT, 'config/config.json'), 'utf8')), '').map(({ path }) => envNameFor(path));
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.constantFrom(...keys, 'SYSTEM_API_KEY', 'CLOUD_BASE_URL', 'AIPLUGS_OFFLINE'), fc.oneof(fc.string(), fc.integer().map(String), fc.constantFrom('true', '0', '-1', '99999', '1-2', 'nonce', 'http://x'))), async (env) => {
        try {
          await loadConfig({ env });
        } catch (error) {
          assert.ok(error instanceof ConfigError, String(error));
          assert.match(error.message, /^Invalid configuration:\n {2}[a-z0-9_.]+ = /);
        }
      }),
      { seed: SEED, numRuns: 1500 },
    );
  });
});

describe('API body fuzzing against a running gateway', () => {
  let gateway: GatewayChild;
  let token: string;
  before(async () => {
    gateway = await startGatewayProcess({ args: ['--plugins-dir', join(REPO_ROOT, 'e2e/fixtures/plugins')] });
    token = await gateway.token();
  });
  after(async () => {
    await gateway?.stop();
  });

  it('answers every body with JSON and a 4xx, never a 5xx, and keeps running', async () => {
    const target = fc.constantFrom(['POST', '/api/plugins/marker/infer'], ['PATCH', '/api/settings'], ['POST', '/api/plugins/..%2F..%2Fetc/infer'], ['GET', '/api/plugins/%00'], ['GET', '/api/plugins/marker/files/..%2F..%2Fmanifest.json']);
    const body = fc.oneof(fc.json(), fc.string(), fc.constant('{"paused":"yes"}'), fc.constant('{"disabled_sites":["../../x"]}'), fc.constant('{"plugin_modes":{"nope":"cloud"}}'));
    await fc.assert(
      fc.asyncProperty(target, body, async ([method, path], text) => {
        const response = await fetch(`${gateway.ready.apiUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: method === 'GET' ? undefined : text,
        });
        const reply = (await response.json()) as { error?: { code: string; message: string } };
        assert.ok(response.status < 500, `${method} ${path} ${text} → ${response.status} ${JSON.stringify(reply)}`);
        if (response.status >= 400) assert.ok(reply.error?.code && reply.error.message);
      }),
      { seed: SEED, numRuns: 1500 },
    );
    // Settings were changed at most into valid states: the gateway still answers and still parses them.
    const settings = await fetch(`${gateway.ready.apiUrl}/api/settings`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(settings.status, 200);
    assert.equal((await fetch(`${gateway.ready.apiUrl}/api/health`)).status, 200);
  });
});
