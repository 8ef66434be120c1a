import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import type { ApiEnv } from '../api/api-env.js';
import { toErrorResponse } from '../api/api-error.js';
import { guardRequests } from '../api/guard-requests.js';
import { createEventBus } from '../events/event-bus.js';
import { createLogger } from '../events/logger.js';
import { AIPLUGS_EXTENSION_ID, extensionIdFromKey, extensionOrigin } from './extension-id.js';
import { createPairingCodes } from './pairing-codes.js';
import { pairingRoutes } from './pairing-routes.js';
import { proofNonce, tokenProof } from './token-proof.js';

const API = 'http://127.0.0.1:5000';
const TOKEN = 'pairing-test-token-0123456789abcdefghijklmnop';
const OURS = extensionOrigin(AIPLUGS_EXTENSION_ID);

function makeApi(now = () => Date.now()) {
  const logged: string[] = [];
  const logger = createLogger({ bus: createEventBus(), level: 'debug', write: (line) => logged.push(line) });
  const app = new Hono<ApiEnv>();
  app.onError((error, c) => toErrorResponse(error, c, () => undefined));
  app.use('*', guardRequests({ token: TOKEN, activeOnSite: () => false, apiOrigins: () => [API] }));
  app.route('/api/pairing', pairingRoutes({ codes: createPairingCodes({ now }), token: TOKEN, apiUrl: () => API, logger }));
  const call = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    app.request(`${API}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { host: '127.0.0.1:5000', 'content-type': 'application/json', ...headers } });
  const mint = async (extensionId?: string) => {
    const response = await call('/api/pairing/codes', extensionId ? { extension_id: extensionId } : {}, { authorization: `Bearer ${TOKEN}` });
    assert.equal(response.status, 200);
    return ((await response.json()) as { code: string }).code;
  };
  return { call, mint, logged };
}

describe('pairing codes', () => {
  it('the id in the gateway is the one the extension key gives', () => {
    const config = readFileSync(new URL('../../../extension/wxt.config.ts', import.meta.url), 'utf8');
    const key = /CHROMIUM_KEY =\s*'([^']+)'/.exec(config)?.[1];
    assert.ok(key, 'extension/wxt.config.ts names CHROMIUM_KEY');
    assert.equal(extensionIdFromKey(key), AIPLUGS_EXTENSION_ID);
  });

  it('our extension trades a code for the token, once', async () => {
    const api = makeApi();
    const code = await api.mint();
    const first = await api.call('/api/pairing/redeem', { code }, { origin: OURS });
    assert.equal(first.status, 200);
    assert.deepEqual(await first.json(), { token: TOKEN, api_url: API });
    const again = await api.call('/api/pairing/redeem', { code }, { origin: OURS });
    assert.equal(again.status, 403);
    assert.doesNotMatch(await again.text(), new RegExp(TOKEN));
  });

  it('a code minted for another build is redeemable by that build only', async () => {
    const api = makeApi();
    const other = 'abcdefghijklmnopabcdefghijklmnop';
    const code = await api.mint(other);
    assert.equal((await api.call('/api/pairing/redeem', { code }, { origin: OURS })).status, 403);
    const code2 = await api.mint(other);
    assert.equal((await api.call('/api/pairing/redeem', { code: code2 }, { origin: extensionOrigin(other) })).status, 200);
  });

  it('expires', async () => {
    let time = 1_000_000;
    const api = makeApi(() => time);
    const code = await api.mint();
    time += 121_000;
    assert.equal((await api.call('/api/pairing/redeem', { code }, { origin: OURS })).status, 403);
  });
});

describe('pairing attacks', () => {
  it('a web page, another extension, a local program without an Origin, or the dashboard origin cannot redeem a stolen code, and the code is spent', async () => {
    const api = makeApi();
    for (const origin of ['https://evil.example', 'chrome-extension://abcdefghijklmnopabcdefghijklmnop', undefined, API, 'null']) {
      const code = await api.mint();
      const stolen = await api.call('/api/pairing/redeem', { code }, origin ? { origin } : {});
      assert.equal(stolen.status, 403, `origin ${origin}`);
      const answer = await stolen.text();
      assert.doesNotMatch(answer, new RegExp(TOKEN));
      // Web origins are turned away before the body is read; whoever got as far as the code spent it,
      // so the rightful extension learns the code was exposed instead of racing the thief.
      const spent = answer.includes('pairing_refused');
      assert.equal(spent, origin !== 'https://evil.example' && origin !== 'null', `origin ${origin}: ${answer}`);
      if (spent) assert.equal((await api.call('/api/pairing/redeem', { code }, { origin: OURS })).status, 403);
    }
    assert.ok(api.logged.some((line) => line.includes('wrong redeemer')));
  });

  it('nobody without the token or a dashboard session can mint a code, and guessing codes finds nothing', async () => {
    const api = makeApi();
    assert.equal((await api.call('/api/pairing/codes', {})).status, 401);
    assert.equal((await api.call('/api/pairing/codes', {}, { origin: 'https://evil.example' })).status, 403);
    assert.equal((await api.call('/api/pairing/codes', {}, { origin: OURS })).status, 401);
    await api.mint();
    for (const code of ['', 'a', 'x'.repeat(43), 'x'.repeat(101)]) {
      const response = await api.call('/api/pairing/redeem', { code }, { origin: OURS });
      assert.ok(response.status === 403 || response.status === 400, `${code.length}: ${response.status}`);
    }
  });
});

describe('token proof', () => {
  it('proves the token for a nonce and this port, with no token asked and none revealed', async () => {
    const { call } = makeApi();
    const nonce = proofNonce();
    const response = await call('/api/pairing/proof', { nonce });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { proof: string };
    assert.deepEqual(Object.keys(body), ['proof']);
    assert.equal(body.proof, await tokenProof(TOKEN, 5000, nonce));
    // Another token, port or nonce gives another proof: a program answering elsewhere cannot relay this one.
    assert.notEqual(body.proof, await tokenProof('another-token', 5000, nonce));
    assert.notEqual(body.proof, await tokenProof(TOKEN, 5001, nonce));
    assert.notEqual(body.proof, await tokenProof(TOKEN, 5000, proofNonce()));
    assert.ok(!body.proof.includes(TOKEN));
  });

  it('takes only a well-formed nonce', async () => {
    const { call } = makeApi();
    for (const nonce of ['', 'short', 'x'.repeat(65), 'not base64url!'.repeat(3), 42]) {
      assert.equal((await call('/api/pairing/proof', { nonce })).status, 400, String(nonce));
    }
  });
});
