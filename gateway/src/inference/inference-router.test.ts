import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../api/api-error.js';
import type { PluginManifest } from '../plugins/manifest-schema.js';
import type { LoadedPlugin, PluginRecord, PluginRegistry } from '../plugins/plugin-registry.js';
import { createCloudBudget, effectiveLimits } from './cloud-budget.js';
import { createInferenceRouter, type FallbackPolicy, type InferenceBackend, type InferenceMode } from './inference-router.js';

function registryWith(defaultMode: InferenceMode, options: { declaresCloud?: boolean } = {}): PluginRegistry {
  const cloud = options.declaresCloud === false ? {} : { cloud: { endpoint: 'chat' as const } };
  const manifest = { manifest_version: 3, id: 'p', name: 'P', version: '1', description: '', content_scripts: [], inference: { default_mode: defaultMode, models: [], env: [], ...cloud } } as PluginManifest;
  const plugin: LoadedPlugin = { id: 'p', dir: '/p', status: 'enabled', manifest, contentScripts: [], revision: 'r', inlineScripts: new Map() };
  const records: PluginRecord[] = [plugin];
  return { list: () => records, get: (id) => records.find((record) => record.id === id), matching: () => [], reload: async () => records, onChange: () => () => undefined };
}

/** A backend that answers with its own name, or fails with the given error. */
function backend(name: InferenceMode, failWith?: ApiError, chunks: unknown[] = []): InferenceBackend & { calls: number } {
  const self = {
    calls: 0,
    async infer(_plugin: LoadedPlugin, payload: unknown, _signal: AbortSignal, onChunk?: (chunk: unknown) => void) {
      self.calls += 1;
      for (const chunk of chunks) onChunk?.(chunk);
      if (failWith) throw failWith;
      return { from: name, payload };
    },
  };
  return self;
}

const unavailable = (code: string) => new ApiError(503, code, `${code} happened`);

test('mode: request beats user setting beats manifest default', async () => {
  const router = (userMode?: InferenceMode) => createInferenceRouter({ registry: registryWith('local'), local: backend('local'), cloud: backend('cloud'), userMode: () => userMode });
  assert.deepEqual(await router().infer('p', { payload: 1 }), { from: 'local', payload: 1 });
  assert.deepEqual(await router('cloud').infer('p', { payload: 1 }), { from: 'cloud', payload: 1 });
  assert.deepEqual(await router('cloud').infer('p', { payload: 1, mode: 'local' }), { from: 'local', payload: 1 });
});

test('falls back local → cloud only when the policy allows and the failure means "cannot serve"', async () => {
  const make = (policy: FallbackPolicy, error: ApiError) => createInferenceRouter({ registry: registryWith('local'), local: backend('local', error), cloud: backend('cloud'), fallback: () => policy });
  let mode: InferenceMode | undefined;
  assert.deepEqual(await make('local_to_cloud', unavailable('worker_failed')).infer('p', { payload: 1, onMode: (served) => (mode = served) }), { from: 'cloud', payload: 1 });
  assert.equal(mode, 'cloud');
  assert.deepEqual(await make('both', unavailable('worker_busy')).infer('p', { payload: 1 }), { from: 'cloud', payload: 1 });
  await assert.rejects(make('none', unavailable('worker_failed')).infer('p', { payload: 1 }), /worker_failed happened/);
  await assert.rejects(make('cloud_to_local', unavailable('worker_failed')).infer('p', { payload: 1 }), /worker_failed happened/);
  // The backend raised: the cloud would not know better.
  await assert.rejects(make('both', new ApiError(500, 'backend_error', 'ValueError: bad')).infer('p', { payload: 1 }), /ValueError: bad/);
});

test("never falls back past a mode chosen for the plugin or the call, nor to a cloud its manifest does not use (helper-77)", async () => {
  const page = { kind: 'page' as const, origin: 'https://a.test', session: 's' };
  const budget = createCloudBudget({ limits: () => ({ requestsPerMinute: 10, maxTokens: 100, maxInputBytes: 1000 }) });
  const make = (options: { userMode?: InferenceMode; declaresCloud?: boolean } = {}) => {
    const cloud = backend('cloud');
    const router = createInferenceRouter({ registry: registryWith('local', options), local: backend('local', unavailable('worker_busy')), cloud, fallback: () => 'local_to_cloud', userMode: () => options.userMode, budget });
    return { router, cloud };
  };
  // The user set the plugin to local: neither a page's call nor the user's own goes to the cloud.
  const pinned = make({ userMode: 'local' });
  await assert.rejects(pinned.router.infer('p', { payload: 1, caller: page }), /worker_busy/);
  await assert.rejects(pinned.router.infer('p', { payload: 1 }), /worker_busy/);
  // A direct caller that asks for local gets local, unless it asks for the fallback too.
  const chosen = make();
  await assert.rejects(chosen.router.infer('p', { payload: 1, mode: 'local' }), /worker_busy/);
  assert.deepEqual(await chosen.router.infer('p', { payload: 1, mode: 'local', fallback: true }), { from: 'cloud', payload: 1 });
  // A plugin whose manifest has no cloud section never sends its data there, whoever asks.
  const localOnly = make({ declaresCloud: false });
  for (const request of [{ payload: 1, caller: page }, { payload: 1 }, { payload: 1, fallback: true }]) await assert.rejects(localOnly.router.infer('p', request), /worker_busy/);
  assert.equal(pinned.cloud.calls + localOnly.cloud.calls, 0);
  // With neither, the policy decides, for pages too.
  assert.deepEqual(await make().router.infer('p', { payload: 1, caller: page }), { from: 'cloud', payload: 1 });
});

test('falls back cloud → local, and a per-request flag overrides the policy', async () => {
  const router = createInferenceRouter({ registry: registryWith('cloud'), local: backend('local'), cloud: backend('cloud', unavailable('cloud_unreachable')), fallback: () => 'none' });
  await assert.rejects(router.infer('p', { payload: 1 }), /cloud_unreachable/);
  assert.deepEqual(await router.infer('p', { payload: 1, fallback: true }), { from: 'local', payload: 1 });
  const eager = createInferenceRouter({ registry: registryWith('cloud'), local: backend('local'), cloud: backend('cloud', unavailable('cloud_timeout')), fallback: () => 'both' });
  await assert.rejects(eager.infer('p', { payload: 1, fallback: false }), /cloud_timeout/);
});

test('no fallback once partial results went out; both failures are reported', async () => {
  const cloud = backend('cloud');
  const streamed = createInferenceRouter({ registry: registryWith('local'), local: backend('local', unavailable('worker_crashed'), ['partial']), cloud, fallback: () => 'both' });
  const chunks: unknown[] = [];
  await assert.rejects(streamed.infer('p', { payload: 1, onChunk: (chunk) => chunks.push(chunk) }), /worker_crashed/);
  assert.deepEqual(chunks, ['partial']);
  assert.equal(cloud.calls, 0);

  const bothDown = createInferenceRouter({ registry: registryWith('local'), local: backend('local', unavailable('worker_failed')), cloud: backend('cloud', new ApiError(501, 'cloud_not_configured', 'no cloud')), fallback: () => 'both' });
  await assert.rejects(bothDown.infer('p', { payload: 1 }), (error: ApiError) => {
    assert.equal(error.code, 'worker_failed');
    assert.match(error.message, /worker_failed happened \(fallback to cloud also failed: no cloud\)/);
    return true;
  });
});

test('unknown and pluginless calls are refused before any backend runs', async () => {
  const local = backend('local');
  const router = createInferenceRouter({ registry: registryWith('local'), local, cloud: backend('cloud') });
  await assert.rejects(router.infer('nope', { payload: 1 }), (error: ApiError) => error.code === 'plugin_not_found');
  assert.equal(local.calls, 0);
});

const page = { kind: 'page', origin: 'https://site.test', session: 's1' } as const;

test('a page gets the mode the user set (or the default), never another one, and cannot ask for a fallback', async () => {
  const cloud = backend('cloud');
  const router = (userMode?: InferenceMode) =>
    createInferenceRouter({ registry: registryWith('local'), local: backend('local'), cloud, userMode: () => userMode, budget: createCloudBudget({ limits: () => ({ requestsPerMinute: 10, maxTokens: 100, maxInputBytes: 1000 }) }) });
  await assert.rejects(router().infer('p', { payload: 1, mode: 'cloud', caller: page }), (error: ApiError) => error.code === 'mode_not_allowed');
  assert.deepEqual(await router().infer('p', { payload: 1, mode: 'local', caller: page }), { from: 'local', payload: 1 });
  assert.deepEqual(await router('cloud').infer('p', { payload: 1, caller: page }), { from: 'cloud', payload: 1 });
  await assert.rejects(router('cloud').infer('p', { payload: 1, mode: 'local', caller: page }), (error: ApiError) => error.code === 'mode_not_allowed');
  // The user's own calls (no caller) may pick either side.
  assert.deepEqual(await router().infer('p', { payload: 1, mode: 'cloud' }), { from: 'cloud', payload: 1 });
  // A page's fallback flag is ignored: only the user's policy (none here) counts.
  const failing = createInferenceRouter({ registry: registryWith('local'), local: backend('local', unavailable('worker_failed')), cloud, fallback: () => 'none', budget: createCloudBudget({ limits: () => ({ requestsPerMinute: 10, maxTokens: 100, maxInputBytes: 1000 }) }) });
  const before = cloud.calls;
  await assert.rejects(failing.infer('p', { payload: 1, fallback: true, caller: page }), /worker_failed/);
  assert.equal(cloud.calls, before);
});

test("a page's cloud calls spend its plugin's budget: requests per minute, a max_tokens cap and an input cap", async () => {
  let now = 1_000_000;
  const seen: Array<number | undefined> = [];
  const cloud: InferenceBackend = {
    async infer(_plugin, payload, _signal, _onChunk, limits) {
      seen.push(limits?.maxTokens);
      limits?.onUsage?.({ inputTokens: 3, outputTokens: 4, totalTokens: 7 });
      return payload;
    },
  };
  const budget = createCloudBudget({ limits: () => ({ requestsPerMinute: 2, maxTokens: 256, maxInputBytes: 4096 }), now: () => now });
  const router = createInferenceRouter({ registry: registryWith('cloud'), local: backend('local'), cloud, budget });
  // A payload over the input cap is refused before it counts as a request or reaches the cloud.
  await assert.rejects(router.infer('p', { payload: 'x'.repeat(4096), caller: page }), (error: ApiError) => error.code === 'cloud_input_too_large' && error.status === 413);
  await router.infer('p', { payload: 1, caller: page });
  await router.infer('p', { payload: 2, caller: page });
  await assert.rejects(router.infer('p', { payload: 3, caller: page }), (error: ApiError) => error.code === 'cloud_budget_exceeded' && error.status === 429);
  // The user's own calls have no input cap.
  await router.infer('p', { payload: 'x'.repeat(5000) });
  // The user's own calls are not counted against pages.
  await router.infer('p', { payload: 4 });
  now += 60_001;
  await router.infer('p', { payload: 5, caller: page });
  assert.deepEqual(seen, [256, 256, undefined, undefined, 256]);
  assert.deepEqual(budget.usage(), [{ plugin: 'p', requests: 3, rejected: 2, tokens: 21, lastMinute: 1, limits: { requestsPerMinute: 2, maxTokens: 256, maxInputBytes: 4096 } }]);
});

test('a manifest may ask for a smaller cloud budget than the user allows, never a larger one', () => {
  const plugin = (cloud: { requests_per_minute?: number; max_tokens?: number; max_input_bytes?: number }) =>
    ({ id: 'p', manifest: { inference: { default_mode: 'cloud', cloud: { endpoint: 'chat', ...cloud } } } }) as unknown as LoadedPlugin;
  const caps = { requestsPerMinute: 10, maxTokens: 1000, maxInputBytes: 100_000 };
  assert.deepEqual(effectiveLimits(plugin({ requests_per_minute: 3, max_tokens: 200, max_input_bytes: 5000 }), caps), { requestsPerMinute: 3, maxTokens: 200, maxInputBytes: 5000 });
  assert.deepEqual(effectiveLimits(plugin({ requests_per_minute: 300, max_tokens: 20_000, max_input_bytes: 10_000_000 }), caps), caps);
  assert.deepEqual(effectiveLimits(plugin({}), caps), caps);
});

test('onCall: one activity event per call, with the mode that served, the caller, the time and the error code', async () => {
  const calls: unknown[] = [];
  const make = (local: InferenceBackend) =>
    createInferenceRouter({ registry: registryWith('local'), local, cloud: backend('cloud'), fallback: () => 'local_to_cloud', onCall: (call) => calls.push({ ...call, durationMs: typeof call.durationMs }) });
  await make(backend('local')).infer('p', { payload: 1 });
  await make(backend('local', unavailable('worker_failed'))).infer('p', { payload: 1 });
  await assert.rejects(make(backend('local', new ApiError(500, 'backend_error', 'boom'))).infer('p', { payload: 1, caller: { kind: 'page', origin: 'https://a.test', session: 's' } }));
  await assert.rejects(make(backend('local')).infer('missing', { payload: 1 }));
  assert.deepEqual(calls, [
    { type: 'inference', plugin: 'p', mode: 'local', caller: 'user', origin: null, durationMs: 'number', error: null },
    { type: 'inference', plugin: 'p', mode: 'cloud', caller: 'user', origin: null, durationMs: 'number', error: null },
    { type: 'inference', plugin: 'p', mode: null, caller: 'page', origin: 'https://a.test', durationMs: 'number', error: 'backend_error' },
    { type: 'inference', plugin: 'missing', mode: null, caller: 'user', origin: null, durationMs: 'number', error: 'plugin_not_found' },
  ]);
});
