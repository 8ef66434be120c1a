import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import { generateSPKIFingerprint } from 'mockttp/dist/util/certificates';
import { createEventBus } from '../events/event-bus.js';
import { createLogger } from '../events/logger.js';
import { ensureCertificateAuthority } from './certificate-authority.js';

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
  });

  it('is unique per install', async () => {
    const { logger } = setup();
    const make = async () => ensureCertificateAuthority({ dataDir: await mkdtemp(join(tmpdir(), 'aiplugs-ca-')), lifetimeDays: 30, renewBeforeDays: 7, logger });
    const [a, b] = await Promise.all([make(), make()]);
    assert.notEqual(a.spki, b.spki);
    assert.notEqual(new x509.X509Certificate(a.cert).serialNumber, new x509.X509Certificate(b.cert).serialNumber);
  });
});
