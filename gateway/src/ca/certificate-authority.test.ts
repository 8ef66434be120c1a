import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import { generateSPKIFingerprint } from 'mockttp/dist/util/certificates';
import { createEventBus } from '../events/event-bus.js';
import { createLogger } from '../events/logger.js';
import { testAuthority } from '../../../test/security/support/certificates.js';
import { ensureCertificateAuthority } from './certificate-authority.js';
import { createLeafMinter } from './leaf-certificate.js';

const DAY = 86_400_000;

function setup() {
  const lines: string[] = [];
  const logger = createLogger({ bus: createEventBus(), level: 'info', write: (line) => lines.push(line) });
  return { lines, logger };
}

describe('certificate authority', () => {
  it('is generated once with a private key and a short lifetime, then reused', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-ca-'));
    const { lines, logger } = setup();
    const now = new Date('2026-01-01T00:00:00Z');
    const first = await ensureCertificateAuthority({ dataDir, lifetimeDays: 365, renewBeforeDays: 30, logger, now: () => now });
    assert.equal((await stat(first.keyPath)).mode & 0o777, 0o600);
    const cert = new x509.X509Certificate(first.cert);
    assert.equal(Math.round((cert.notAfter.getTime() - now.getTime()) / DAY), 365);
    assert.ok(cert.getExtension(x509.BasicConstraintsExtension)?.ca);
    assert.match(lines.join('\n'), /Generated a new CA certificate because no CA yet/);

    // The SPKI pin Chromium is given: base64 SHA-256 of the key, as mockttp computes it too.
    assert.equal(first.spki, await generateSPKIFingerprint(first.cert));
    assert.equal(first.notAfter.getTime(), cert.notAfter.getTime());

    const again = await ensureCertificateAuthority({ dataDir, lifetimeDays: 365, renewBeforeDays: 30, logger, now: () => new Date(now.getTime() + 100 * DAY) });
    assert.equal(again.spki, first.spki);
    assert.equal(lines.length, 1, 'no regeneration while valid');
  });

  it('rotates before expiry, and when files are missing or unreadable, saying why', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-ca-'));
    const { lines, logger } = setup();
    const now = new Date('2026-01-01T00:00:00Z');
    const options = { dataDir, lifetimeDays: 365, renewBeforeDays: 30, logger };
    const first = await ensureCertificateAuthority({ ...options, now: () => now });
    const nearExpiry = await ensureCertificateAuthority({ ...options, now: () => new Date(now.getTime() + 340 * DAY) });
    assert.notEqual(nearExpiry.spki, first.spki);
    assert.match(lines.at(-1) ?? '', /because the CA expires on .* \(25 days left\)/);

    await writeFile(join(dataDir, 'ca.key'), 'garbage');
    const afterCorruption = await ensureCertificateAuthority({ ...options, now: () => now });
    assert.notEqual(afterCorruption.spki, nearExpiry.spki);
    assert.match(lines.at(-1) ?? '', /because the CA files are unreadable/);
    assert.match(await readFile(join(dataDir, 'ca.key'), 'utf8'), /BEGIN PRIVATE KEY/);

    await writeFile(join(dataDir, 'ca.key'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await ensureCertificateAuthority({ ...options, now: () => now });
    assert.match(lines.at(-1) ?? '', /because the CA files are unreadable \(a ed25519 CA key is not supported/);
  });

  it('makes an ECDSA P-256 key, and keeps an RSA CA an earlier version made (users trusted it) until it rotates', async () => {
    const { lines, logger } = setup();
    const options = { lifetimeDays: 365, renewBeforeDays: 7, logger };
    const fresh = await ensureCertificateAuthority({ ...options, dataDir: await mkdtemp(join(tmpdir(), 'aiplugs-ca-')) });
    const key = createPrivateKey(fresh.key);
    assert.equal(key.asymmetricKeyType, 'ec');
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(new X509Certificate(fresh.cert).verify(createPublicKey(key)), 'self-signed with its own key');

    const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-ca-'));
    const rsa = await testAuthority();
    await writeFile(join(dataDir, 'ca.key'), rsa.key, { mode: 0o600 });
    await writeFile(join(dataDir, 'ca.pem'), rsa.cert);
    lines.length = 0;
    const kept = await ensureCertificateAuthority({ ...options, dataDir });
    assert.equal(kept.cert, rsa.cert);
    assert.deepEqual(lines, [], 'not regenerated');
  });

  it('replaces a key that does not belong to its certificate (a rotation cut short between the two writes)', async () => {
    const { lines, logger } = setup();
    const options = { lifetimeDays: 365, renewBeforeDays: 30, logger };
    const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-ca-'));
    const other = await ensureCertificateAuthority({ ...options, dataDir: await mkdtemp(join(tmpdir(), 'aiplugs-ca-')) });
    const first = await ensureCertificateAuthority({ ...options, dataDir });
    await writeFile(join(dataDir, 'ca.key'), other.key);

    const repaired = await ensureCertificateAuthority({ ...options, dataDir });
    assert.match(lines.at(-1) ?? '', /because the CA key does not belong to its certificate/);
    assert.notEqual(repaired.spki, first.spki);
    assert.notEqual(repaired.spki, other.spki);
    const publicOfKey = createPublicKey(createPrivateKey(repaired.key)).export({ type: 'spki', format: 'der' });
    assert.deepEqual(publicOfKey, new X509Certificate(repaired.cert).publicKey.export({ type: 'spki', format: 'der' }));
  });

  it('keeps a CA whose key is stored in another encoding (SEC1, PKCS#1) and signs leaves with it', async () => {
    const { lines, logger } = setup();
    // testAuthority's CA lives 30 days: renew later than that, so only the key's encoding is judged.
    const options = { lifetimeDays: 365, renewBeforeDays: 7, logger };
    for (const [kind, authority] of [
      ['ECDSA as SEC1', await ensureCertificateAuthority({ ...options, dataDir: await mkdtemp(join(tmpdir(), 'aiplugs-ca-')) })],
      ['RSA as PKCS#1', await testAuthority()],
    ] as const) {
      const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-ca-'));
      const type = kind.startsWith('RSA') ? 'pkcs1' : 'sec1';
      await writeFile(join(dataDir, 'ca.key'), createPrivateKey(authority.key).export({ type, format: 'pem' }), { mode: 0o600 });
      await writeFile(join(dataDir, 'ca.pem'), authority.cert);
      lines.length = 0;
      const kept = await ensureCertificateAuthority({ ...options, dataDir });
      assert.equal(kept.cert, authority.cert, `${kind}: the CA users trusted is kept`);
      assert.deepEqual(lines, [], `${kind}: not regenerated`);
      // The proxy mints with what this returns: a key it can import whatever encoding the file has.
      const leaf = await (await createLeafMinter(kept))('shop.example');
      assert.ok(new X509Certificate(leaf.cert).checkIssued(new X509Certificate(authority.cert)), `${kind}: the leaf is issued by the CA`);
    }
  });

  it('replaces an RSA CA key shorter than 2048 bits', async () => {
    const { lines, logger } = setup();
    const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-ca-'));
    await writeFile(join(dataDir, 'ca.key'), generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await writeFile(join(dataDir, 'ca.pem'), (await testAuthority()).cert);
    await ensureCertificateAuthority({ dataDir, lifetimeDays: 365, renewBeforeDays: 30, logger });
    assert.match(lines.at(-1) ?? '', /because the CA files are unreadable \(an RSA CA key of 1024 bits is too short/);
  });

  it('is unique per install', async () => {
    const { logger } = setup();
    const make = async () => ensureCertificateAuthority({ dataDir: await mkdtemp(join(tmpdir(), 'aiplugs-ca-')), lifetimeDays: 30, renewBeforeDays: 7, logger });
    const [a, b] = await Promise.all([make(), make()]);
    assert.notEqual(a.spki, b.spki);
    assert.notEqual(new x509.X509Certificate(a.cert).serialNumber, new x509.X509Certificate(b.cert).serialNumber);
  });
});
