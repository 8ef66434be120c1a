import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, envNameFor, loadConfig } from './load-config.js';

async function userConfig(content: unknown): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'aiplugs-config-')), 'config.json');
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('loadConfig', () => {
  it('loads the embedded defaults', async () => {
    const config = await loadConfig({ env: {} });
    assert.deepEqual(config.api.port_range, [5000, 5100]);
    assert.deepEqual(config.proxy.port_range, [8080, 8180]);
    assert.equal(config.api.port, null);
    assert.equal(config.workers.keep_alive_seconds, 300);
  });

  it('applies CLI > environment > user file > defaults', async () => {
    const userFile = await userConfig({ api: { port: 5050 }, workers: { keep_alive_seconds: 10 }, proxy: { csp_mode: 'strip' } });
    const config = await loadConfig({
      userFile,
      env: { AIPLUGS_API_PORT: '5060', AIPLUGS_WORKERS_KEEP_ALIVE_SECONDS: '20' },
      overrides: [{ path: ['api', 'port'], value: 5070, source: '--api-port' }],
    });
    assert.equal(config.api.port, 5070);
    assert.equal(config.workers.keep_alive_seconds, 20);
    assert.equal(config.proxy.csp_mode, 'strip');
  });

  it('lets SYSTEM_API_KEY and CLOUD_BASE_URL beat the config files', async () => {
    const userFile = await userConfig({ cloud: { base_url: 'http://file.example/v1', api_key: 'from-file' } });
    const config = await loadConfig({ userFile, env: { CLOUD_BASE_URL: 'http://127.0.0.1:9/v1', SYSTEM_API_KEY: 'from-env' } });
    assert.equal(config.cloud.base_url, 'http://127.0.0.1:9/v1');
    assert.equal(config.cloud.api_key, 'from-env');
  });

  it('parses env spellings: flags, lists, ranges, empty = unset', async () => {
    const config = await loadConfig({
      env: { AIPLUGS_OFFLINE: 'yes', AIPLUGS_PROXY_DISABLED_SITES: 'a.com, *.b.org', AIPLUGS_API_PORT_RANGE: '6000-6010', AIPLUGS_CLOUD_API_KEY: '' },
    });
    assert.equal(config.models.offline, true);
    assert.deepEqual(config.proxy.disabled_sites, ['a.com', '*.b.org']);
    assert.deepEqual(config.api.port_range, [6000, 6010]);
    assert.equal(config.cloud.api_key, null);
  });

  it('names the key, the value, its source and what was expected', async () => {
    await assert.rejects(loadConfig({ env: { AIPLUGS_PROXY_CSP_MODE: 'loose' } }), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /proxy\.csp_mode = "loose" \(from environment variable AIPLUGS_PROXY_CSP_MODE\): expected one of "nonce" \| "strip"/);
      return true;
    });
    await assert.rejects(loadConfig({ env: { AIPLUGS_API_PORT: 'eighty' } }), /api\.port = "eighty".*expected number/);
  });

  it('refuses one port for both the API and the proxy (the second listener said another program held it); port 0 for both is fine', async () => {
    await assert.rejects(loadConfig({ env: { AIPLUGS_API_PORT: '5300', AIPLUGS_PROXY_PORT: '5300' } }), /proxy\.port = "5300" \(from environment variable AIPLUGS_PROXY_PORT\): the same as api\.port/);
    assert.equal((await loadConfig({ env: { AIPLUGS_API_PORT: '0', AIPLUGS_PROXY_PORT: '0' } })).proxy.port, 0);
  });

  it('rejects unknown keys and broken JSON in a user file', async () => {
    await assert.rejects(loadConfig({ userFile: await userConfig({ proxy: { cps_mode: 'strip' } }) }), /proxy\.cps_mode \(from .*\): unknown key/);
    await assert.rejects(loadConfig({ userFile: await userConfig('{ nope') }), /is not valid JSON/);
  });

  it('refuses a user file that is JSON but not an object, naming the file and what it holds', async () => {
    for (const [content, holds] of [['[{"api":{"port":1}}]', 'an array'], ['"x"', 'a string'], ['42', 'a number'], ['null', 'null']] as const) {
      const file = await userConfig(content);
      await assert.rejects(loadConfig({ userFile: file }), (error: Error) => {
        assert.ok(error instanceof ConfigError, `${content}: ${error.message}`);
        assert.equal(error.message, `Config file ${file} must hold a JSON object (like {"api": {"port": 5000}}), not ${holds}`);
        return true;
      });
    }
  });

  it('an unknown key error names only the offending keys and where they came from, not the whole config', async () => {
    const file = await userConfig({ logz: { level: 'debug' }, proxy: { cps_mode: 'strip', port: 8081 } });
    await assert.rejects(loadConfig({ userFile: file, env: { SYSTEM_API_KEY: 'sk-secret-key' } }), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.message.split('\n'), [
        'Invalid configuration:',
        `  logz (from ${file}): unknown key`,
        `  proxy.cps_mode (from ${file}): unknown key`,
      ]);
      assert.doesNotMatch(error.message, /sk-secret-key/);
      return true;
    });
  });

  it('refuses a blank SYSTEM_API_KEY (it was sent as a bare "Authorization: Bearer"), naming the variable', async () => {
    for (const blank of ['   ', '\t', ' \n ']) {
      await assert.rejects(loadConfig({ env: { SYSTEM_API_KEY: blank } }), (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /^Invalid configuration:\n {2}cloud\.api_key = ".*" \(from environment variable SYSTEM_API_KEY\): only whitespace, which would be sent as a bare "Authorization: Bearer"/);
        return true;
      });
    }
    await assert.rejects(loadConfig({ userFile: await userConfig({ cloud: { api_key: '  ' } }) }), /cloud\.api_key = "  " \(from .*config\.json\): only whitespace/);
  });

  it('an empty SYSTEM_API_KEY= still means no key, beating the files, and says so once', async () => {
    const userFile = await userConfig({ cloud: { api_key: 'sk-from-file' } });
    const notices: string[] = [];
    const config = await loadConfig({ userFile, env: { SYSTEM_API_KEY: '' }, onNotice: (message) => notices.push(message) });
    assert.equal(config.cloud.api_key, null);
    assert.deepEqual(notices, ['SYSTEM_API_KEY is set but empty: cloud calls send no API key (cloud.api_key from the config files is not used)']);
    const quiet: string[] = [];
    await loadConfig({ userFile, env: { SYSTEM_API_KEY: 'sk-from-env' }, onNotice: (message) => quiet.push(message) });
    await loadConfig({ userFile, env: {}, onNotice: (message) => quiet.push(message) });
    // Not said where untrue: no file has a key, or an override sends one all the same.
    await loadConfig({ env: { SYSTEM_API_KEY: '' }, onNotice: (message) => quiet.push(message) });
    const overridden = await loadConfig({ userFile, env: { SYSTEM_API_KEY: '' }, overrides: [{ path: ['cloud', 'api_key'], value: 'sk-flag', source: 'test' }], onNotice: (message) => quiet.push(message) });
    assert.equal(overridden.cloud.api_key, 'sk-flag');
    assert.deepEqual(quiet, []);
  });

  it('cloud.total_timeout_ms defaults to 10 minutes and must be a positive number of ms', async () => {
    assert.equal((await loadConfig({ env: {} })).cloud.total_timeout_ms, 600_000);
    assert.equal((await loadConfig({ userFile: await userConfig({ cloud: { total_timeout_ms: 1500 } }), env: {} })).cloud.total_timeout_ms, 1500);
    await assert.rejects(loadConfig({ userFile: await userConfig({ cloud: { total_timeout_ms: 0 } }) }), /cloud\.total_timeout_ms = 0 /);
  });

  it('refuses a timeout longer than a timer can wait, which would fire after 1 ms', async () => {
    // Before: 3000000000 ("no limit") was taken, and every cloud call ended in cloud_timeout at once.
    await assert.rejects(loadConfig({ userFile: await userConfig({ cloud: { total_timeout_ms: 3_000_000_000 } }), env: {} }), /cloud\.total_timeout_ms = 3000000000 .*at most 2147483647 ms/);
    await assert.rejects(loadConfig({ userFile: await userConfig({ cloud: { timeout_ms: 3_000_000_000 } }), env: {} }), /cloud\.timeout_ms/);
    await assert.rejects(loadConfig({ userFile: await userConfig({ workers: { request_timeout_seconds: 3_000_000 } }), env: {} }), /workers\.request_timeout_seconds .*at most 2147483 s/);
    assert.equal((await loadConfig({ userFile: await userConfig({ cloud: { total_timeout_ms: 2_147_483_647 } }), env: {} })).cloud.total_timeout_ms, 2_147_483_647);
  });

  it('takes numbers in plain decimal only: a hex, exponent or empty value is refused, not read as another number', async () => {
    // Number() took "0x1610" as port 5648, "1e3" as 1000 and "" (a variable set to nothing) as 0.
    for (const [name, value, key] of [
      ['AIPLUGS_API_PORT', '0x1610', 'api.port'],
      ['AIPLUGS_API_MAX_BODY_BYTES', '1e3', 'api.max_body_bytes'],
      ['AIPLUGS_MODELS_MIN_FREE_BYTES', '', 'models.min_free_bytes'],
      ['AIPLUGS_WORKERS_MAX_MEMORY_MB', ' ', 'workers.max_memory_mb'],
    ] as const) {
      await assert.rejects(loadConfig({ env: { [name]: value } }), (error: Error) => error instanceof ConfigError && error.message.includes(key), `${name}=${JSON.stringify(value)}`);
    }
    const config = await loadConfig({ env: { AIPLUGS_API_PORT: ' 6001 ', AIPLUGS_API_MAX_BODY_BYTES: '2048', AIPLUGS_PROXY_LEAF_MINTS_PER_SECOND: '2.5' } });
    assert.deepEqual([config.api.port, config.api.max_body_bytes, config.proxy.leaf_mints_per_second], [6001, 2048, 2.5]);
    assert.equal((await loadConfig({ env: { AIPLUGS_API_PORT: '' } })).api.port, null, 'an empty port still means "pick one"');
  });

  it('derives one AIPLUGS_* name per key', () => {
    assert.equal(envNameFor(['proxy', 'csp_mode']), 'AIPLUGS_PROXY_CSP_MODE');
  });
});
