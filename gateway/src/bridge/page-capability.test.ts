import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCapabilityIssuer } from './page-capability.js';

describe('page capabilities and the Web AI grant', () => {
  const issuer = createCapabilityIssuer();
  const origin = 'https://site.example';

  it('carries the grant only when it was minted with it', () => {
    const session = issuer.newSession();
    assert.equal(issuer.verify(issuer.mint({ origin, plugins: ['a'], session, webai: true }), origin)?.webai, true);
    assert.equal(issuer.verify(issuer.mint({ origin, plugins: ['a'], session }), origin)?.webai, undefined);
  });

  it('cannot be given the grant after minting: the MAC covers it', () => {
    const token = issuer.mint({ origin, plugins: ['a'], session: issuer.newSession() });
    const [payload] = token.split('.');
    const decoded = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as unknown[];
    const forged = `${Buffer.from(JSON.stringify([...decoded, 'webai'])).toString('base64url')}.${token.split('.')[1]}`;
    assert.equal(issuer.verify(forged, origin), null);
  });
});
