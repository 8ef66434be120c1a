import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoadedPlugin } from '../plugins/plugin-registry.js';
import { buildWorkerEnv } from './worker-env.js';

const plugin = (env: LoadedPlugin['manifest']['inference'] extends infer I ? (I extends { env: infer E } ? E : never) : never) =>
  ({
    id: 'p',
    dir: '/plugins/p',
    status: 'enabled',
    revision: 'r',
    contentScripts: [],
    inlineScripts: new Map(),
    manifest: { manifest_version: 3, id: 'p', name: 'P', version: '1', description: '', content_scripts: [], inference: { default_mode: 'local', models: [], env } },
  }) as LoadedPlugin;

describe('worker environment', () => {
  const base = { PATH: '/bin', SYSTEM_API_KEY: 'sk-secret', AIPLUGS_PROXY_CSP_MODE: 'nonce', OTHER: 'tok-123456' };

  it('withholds gateway secrets and settings, and adds identity and model paths', () => {
    const env = buildWorkerEnv({ plugin: plugin([]), modelPaths: { MODEL: '/models/m.bin' }, modelsDir: '/models', base, secretValues: ['tok-123456'], grantable: {} });
    assert.equal(env.SYSTEM_API_KEY, undefined);
    assert.equal(env.AIPLUGS_PROXY_CSP_MODE, undefined);
    assert.equal(env.OTHER, undefined, 'a variable holding a secret value is dropped whatever its name');
    assert.equal(env.PATH, '/bin');
    assert.equal(env.MODEL, '/models/m.bin');
    assert.equal(env.AIPLUGS_PLUGIN_ID, 'p');
    assert.equal(env.AIPLUGS_PLUGIN_DIR, '/plugins/p');
    assert.equal(env.AIPLUGS_MODELS_DIR, '/models');
  });

  it('starts from an allowlist, not from the gateway environment minus a denylist', () => {
    const gatewayEnv = {
      PATH: '/usr/bin',
      HOME: '/home/u',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      TMPDIR: '/tmp/u',
      PYENV_VERSION: '3.11.7',
      OTHER_TOKEN: 'ghp_unrelated',
      AWS_SECRET_ACCESS_KEY: 'aws-secret',
      NODE_OPTIONS: '--require /tmp/evil.js',
      LD_PRELOAD: '/tmp/evil.so',
      HTTPS_PROXY: 'http://user:pass@proxy:3128',
      CUDA_VISIBLE_DEVICES: '0',
    };
    const env = buildWorkerEnv({ plugin: plugin([]), modelPaths: {}, modelsDir: '/m', base: gatewayEnv, secretValues: [], grantable: {} });
    assert.deepEqual(
      Object.keys(env).filter((name) => !name.startsWith('AIPLUGS_') && !name.startsWith('PYTHON')).sort(),
      ['HOME', 'LANG', 'LC_ALL', 'PATH', 'PYENV_VERSION', 'TMPDIR'],
    );
    const extended = buildWorkerEnv({ plugin: plugin([]), modelPaths: {}, modelsDir: '/m', base: gatewayEnv, secretValues: [], grantable: {}, passthrough: ['CUDA_VISIBLE_DEVICES', 'SYSTEM_API_KEY', 'AIPLUGS_CLOUD_API_KEY'] });
    assert.equal(extended.CUDA_VISIBLE_DEVICES, '0', 'workers.env_passthrough adds names');
    assert.equal(extended.OTHER_TOKEN, undefined);
  });

  it('never passes a gateway secret through workers.env_passthrough: only a grant does that', () => {
    const env = buildWorkerEnv({ plugin: plugin([]), modelPaths: {}, modelsDir: '/m', base, secretValues: ['tok-123456'], grantable: {}, passthrough: ['SYSTEM_API_KEY', 'AIPLUGS_PROXY_CSP_MODE', 'OTHER'] });
    assert.equal(env.SYSTEM_API_KEY, undefined);
    assert.equal(env.AIPLUGS_PROXY_CSP_MODE, undefined);
    assert.equal(env.OTHER, undefined, 'a listed variable holding a secret value is still dropped');
  });

  it('passes a secret only when the manifest asks and the user allowed it', () => {
    const asked = plugin(['SYSTEM_API_KEY']);
    const notAllowed = buildWorkerEnv({ plugin: asked, modelPaths: {}, modelsDir: '/m', base, secretValues: ['sk-secret'], grantable: {} });
    assert.equal(notAllowed.SYSTEM_API_KEY, undefined);
    const allowed = buildWorkerEnv({ plugin: asked, modelPaths: {}, modelsDir: '/m', base, secretValues: ['sk-secret'], grantable: { SYSTEM_API_KEY: 'sk-secret' } });
    assert.equal(allowed.SYSTEM_API_KEY, 'sk-secret');
    const allowedButNotAsked = buildWorkerEnv({ plugin: plugin([]), modelPaths: {}, modelsDir: '/m', base, secretValues: ['sk-secret'], grantable: { SYSTEM_API_KEY: 'sk-secret' } });
    assert.equal(allowedButNotAsked.SYSTEM_API_KEY, undefined);
  });
});
