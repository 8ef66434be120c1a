/**
 * Security checklist 7, continued — what a plugin backend can read. The gateway is started through
 * the real CLI with a cloud key and an unrelated token in its environment; a backend that dumps
 * its own environment and its parent's `/proc/<ppid>/environ` must find neither, unless the
 * user granted the key to that plugin.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, startGatewayProcess, type GatewayChild } from '../../e2e/support/gateway-process.js';

const CLOUD_KEY = 'sk-canary-cloud-4f1d2a9b7c';
const OTHER_TOKEN = 'canary-other-token-8e3c5d1f6a';
const CANARIES = [CLOUD_KEY, OTHER_TOKEN];

let gateway: GatewayChild;
let token: string;

interface Dump {
  own: Record<string, string>;
  parent: string[];
  parent_pid: number;
}

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${gateway.ready.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

async function dump(): Promise<Dump> {
  const { status, json } = await call('POST', '/api/plugins/env-dump/infer', { payload: {} });
  assert.equal(status, 200, JSON.stringify(json));
  return (json as { result: Dump }).result;
}

const leaked = (text: string) => CANARIES.filter((canary) => text.includes(canary));

before(async () => {
  gateway = await startGatewayProcess({
    args: ['--plugins-dir', join(REPO_ROOT, 'test/security/fixtures/plugins')],
    env: { SYSTEM_API_KEY: CLOUD_KEY, OTHER_TOKEN, CLOUD_BASE_URL: 'http://127.0.0.1:9/v1' },
  });
  token = await gateway.token();
});
after(() => gateway?.stop());

describe('secrets in the gateway environment', () => {
  it('a backend reads none of them, neither in its own environment nor in the gateway process', async () => {
    const result = await dump();
    const runtime = JSON.parse(await readFile(join(gateway.dataDir, 'runtime.json'), 'utf8')) as { pid: number };
    assert.equal(result.parent_pid, runtime.pid, 'the parent the backend read is the gateway');
    assert.ok(result.parent.some((entry) => entry.startsWith('PATH=')), `the parent's environment was readable: ${result.parent[0]}`);
    assert.deepEqual({ own: leaked(JSON.stringify(result.own)), gateway: leaked(result.parent.join('\n')) }, { own: [], gateway: [] });
    assert.equal(result.own.CLOUD_BASE_URL, undefined);
    assert.deepEqual(leaked(gateway.log()), [], 'nor does the log');
  });

  it('a key the user granted reaches that backend, and still nothing else does', async () => {
    assert.equal((await call('PATCH', '/api/settings', { plugin_allowed_secrets: { 'env-dump': ['SYSTEM_API_KEY'] } })).status, 200);
    // The environment is fixed at spawn: restart the worker so the grant takes effect.
    assert.equal((await call('POST', '/api/workers/env-dump/stop')).status, 200);
    const result = await dump();
    // This also proves the gateway itself still has the key, however it was handed over.
    assert.equal(result.own.SYSTEM_API_KEY, CLOUD_KEY);
    assert.deepEqual({ own: leaked(JSON.stringify({ ...result.own, SYSTEM_API_KEY: undefined })), gateway: leaked(result.parent.join('\n')) }, { own: [], gateway: [] });
  });
});
