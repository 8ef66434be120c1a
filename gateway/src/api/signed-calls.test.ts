import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signedAuthorization } from '../pairing/token-proof.js';
import { createSignedCallCheck, SIGNED_CALL_WINDOW_MS } from './signed-calls.js';

const TOKEN = 'a-token-of-the-gateway';
const CALL = { apiPort: 5000, method: 'GET', target: '/api/settings' };

describe('signed calls', () => {
  it('take a call signed with the token for this port and request, once', async () => {
    const check = createSignedCallCheck(TOKEN);
    const header = await signedAuthorization(TOKEN, CALL);
    assert.equal(await check(header, CALL), 'ok');
    assert.equal(await check(header, CALL), 'replayed');
    assert.equal(await check(await signedAuthorization(TOKEN, CALL), CALL), 'ok');
  });

  it('refuse the same signature on another port, method or target, or under another token', async () => {
    const check = createSignedCallCheck(TOKEN);
    const header = await signedAuthorization(TOKEN, CALL);
    assert.equal(await check(header, { ...CALL, apiPort: 5001 }), 'invalid');
    assert.equal(await check(header, { ...CALL, method: 'PATCH' }), 'invalid');
    assert.equal(await check(header, { ...CALL, target: '/api/settings?x=1' }), 'invalid');
    assert.equal(await check(await signedAuthorization('another-token', CALL), CALL), 'invalid');
    assert.equal(await check(`Bearer ${TOKEN}`, CALL), 'invalid');
    assert.equal(await check(header.replace(/\.[^.]+$/, '.' + 'A'.repeat(43)), CALL), 'invalid');
  });

  it('refuse a signature from outside the clock window either way, and remember no nonce for a bad one', async () => {
    const check = createSignedCallCheck(TOKEN);
    const now = Date.now();
    assert.equal(await check(await signedAuthorization(TOKEN, CALL, now - SIGNED_CALL_WINDOW_MS - 1), CALL, now), 'stale');
    assert.equal(await check(await signedAuthorization(TOKEN, CALL, now + SIGNED_CALL_WINDOW_MS + 1), CALL, now), 'stale');
    const header = await signedAuthorization(TOKEN, CALL, now);
    assert.equal(await check(header, { ...CALL, apiPort: 1 }, now), 'invalid');
    assert.equal(await check(header, CALL, now), 'ok'); // the refused attempt did not spend its nonce
  });

  it('refuse a signature made before this gateway started: one heard by a program that held the port meanwhile cannot be replayed to it', async () => {
    const startedAt = Date.now();
    const heard = await signedAuthorization(TOKEN, CALL, startedAt - 1_000); // made for the gateway before, same token
    const check = createSignedCallCheck(TOKEN, { startedAt });
    assert.equal(await check(heard, CALL, startedAt + 1_000), 'stale');
    assert.equal(await check(await signedAuthorization(TOKEN, CALL, startedAt + 1_000), CALL, startedAt + 1_000), 'ok');
  });

  it('remember a bounded number of nonces, and forget them once their signatures could no longer be taken', async () => {
    const check = createSignedCallCheck(TOKEN, { maxNonces: 2 });
    const now = Date.now();
    assert.equal(await check(await signedAuthorization(TOKEN, CALL, now), CALL, now), 'ok');
    assert.equal(await check(await signedAuthorization(TOKEN, CALL, now), CALL, now), 'ok');
    assert.equal(await check(await signedAuthorization(TOKEN, CALL, now), CALL, now), 'busy');
    const later = now + 2 * SIGNED_CALL_WINDOW_MS + 1;
    assert.equal(await check(await signedAuthorization(TOKEN, CALL, later), CALL, later), 'ok');
  });
});
