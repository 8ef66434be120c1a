import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { testAuthority } from '../../../test/security/support/certificates.js';
import { generateCa } from './certificate-authority.js';
import { createLeafMinter } from './leaf-certificate.js';

const DAY = 86_400_000;

describe('createLeafMinter', () => {
  it('mints a short-lived server certificate for exactly one name, signed by the CA', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const ca = await generateCa(365, now);
    const mint = await createLeafMinter(ca, () => now);
    const leaf = await mint('shop.example');
    const [leafPem, caPem] = leaf.cert.split(/(?<=-----END CERTIFICATE-----\n)/);
    const cert = new X509Certificate(leafPem ?? '');
    assert.equal(new X509Certificate(caPem?.trim() ?? '').fingerprint256, new X509Certificate(ca.cert).fingerprint256, 'the chain ends with our CA');
    assert.ok(cert.verify(new X509Certificate(ca.cert).publicKey));
    assert.equal(cert.subjectAltName, 'DNS:shop.example');
    assert.equal(cert.checkHost('shop.example'), 'shop.example');
    assert.equal(cert.checkHost('other.example'), undefined);
    assert.equal(cert.ca, false);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'server authentication only');
    assert.equal(new Date(cert.validTo).getTime(), now.getTime() + 30 * DAY);
    assert.equal(leaf.notAfter.getTime(), now.getTime() + 30 * DAY);
    assert.ok(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(leaf.key)));
  });

  it('mints from an RSA CA made by an earlier version as well', async () => {
    const ca = await testAuthority();
    const leaf = await (await createLeafMinter(ca))('shop.example');
    const cert = new X509Certificate(leaf.cert.split(/(?<=-----END CERTIFICATE-----\n)/)[0] ?? '');
    assert.ok(cert.verify(new X509Certificate(ca.cert).publicKey));
    assert.equal(cert.subjectAltName, 'DNS:shop.example');
  });

  it('never mints a leaf that outlives the CA, and gives every leaf its own serial', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const ca = await generateCa(10, now);
    const mint = await createLeafMinter(ca, () => now);
    const [a, b] = await Promise.all([mint('a.example'), mint('a.example')]);
    assert.equal(a?.notAfter.getTime(), new Date(new X509Certificate(ca.cert).validTo).getTime());
    assert.notEqual(new X509Certificate(a?.cert ?? '').serialNumber, new X509Certificate(b?.cert ?? '').serialNumber);
  });
});
