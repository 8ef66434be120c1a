import { createHash, createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import { chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../events/logger.js';
import { writeFileAtomic } from '../data/write-file-atomic.js';
import { caKeyAlgorithms, NEW_CA_KEY, NEW_CA_SIGNING } from './ca-key.js';
import { loadX509 } from './x509-library.js';

export interface CertificateAuthority {
  certPath: string;
  keyPath: string;
  cert: string;
  key: string;
  /** base64 SHA-256 of the SPKI, for Chromium's `--ignore-certificate-errors-spki-list`. */
  spki: string;
  notAfter: Date;
}

export interface CaOptions {
  dataDir: string;
  lifetimeDays: number;
  renewBeforeDays: number;
  logger: Logger;
  now?: () => Date;
}

const DAY_MS = 86_400_000;

function toPem(der: ArrayBuffer, label: string): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** A fresh CA, unique to this install: its own ECDSA P-256 key pair, random serial, short lifetime. */
export async function generateCa(lifetimeDays: number, now: Date): Promise<{ cert: string; key: string }> {
  const x509 = await loadX509();
  const keys = await webcrypto.subtle.generateKey(NEW_CA_KEY, true, ['sign', 'verify']);
  const name = `CN=AiPlugs local CA (${now.toISOString().slice(0, 10)}), O=AiPlugs, OU=Local interception for this user only`;
  const serial = Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)));
  serial[0] = (serial[0] ?? 0) & 0x7f; // positive INTEGER
  const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as CryptoKey);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name,
    notBefore: new Date(now.getTime() - DAY_MS),
    notAfter: new Date(now.getTime() + lifetimeDays * DAY_MS),
    signingAlgorithm: NEW_CA_SIGNING,
    keys: keys as CryptoKeyPair,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      ski,
      new x509.AuthorityKeyIdentifierExtension(ski.keyId),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { cert: cert.toString('pem'), key: toPem(pkcs8, 'PRIVATE KEY') };
}

/** Why an existing CA must be replaced, or null when it is fine to keep. */
async function reasonToRegenerate(certPath: string, keyPath: string, renewBeforeDays: number, now: Date): Promise<string | null> {
  let certPem: string;
  let keyPem: string;
  try {
    [certPem, keyPem] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'no CA yet' : `the CA files cannot be read (${code ?? (error as Error).message})`;
  }
  let notAfter: Date;
  try {
    const cert = new X509Certificate(certPem);
    notAfter = new Date(cert.validTo);
    const key = createPrivateKey(keyPem);
    caKeyAlgorithms(key); // throws for a kind of key leaves cannot be signed with
    // The key is written before the certificate: a rotation cut short leaves a new key beside the old
    // certificate, and every leaf signed with it would fail verification.
    if (!cert.checkPrivateKey(key)) return 'the CA key does not belong to its certificate';
  } catch (error) {
    return `the CA files are unreadable (${(error as Error).message})`;
  }
  const daysLeft = (notAfter.getTime() - now.getTime()) / DAY_MS;
  if (daysLeft < renewBeforeDays) return `the CA expires on ${notAfter.toISOString()} (${Math.floor(daysLeft)} days left)`;
  return null;
}

/**
 * Returns this install's CA, generating it on first start and rotating it when it is missing,
 * unreadable or near expiry. The key is written with mode 0600 and never leaves the data dir.
 */
export async function ensureCertificateAuthority(options: CaOptions): Promise<CertificateAuthority> {
  const now = options.now?.() ?? new Date();
  const certPath = join(options.dataDir, 'ca.pem');
  const keyPath = join(options.dataDir, 'ca.key');
  const reason = await reasonToRegenerate(certPath, keyPath, options.renewBeforeDays, now);
  if (reason) {
    const fresh = await generateCa(options.lifetimeDays, now);
    await writeFileAtomic(keyPath, fresh.key, 0o600);
    await writeFileAtomic(certPath, fresh.cert, 0o644);
    options.logger.info(`Generated a new CA certificate because ${reason}: ${certPath} (valid ${options.lifetimeDays} days)`);
  }
  await chmod(keyPath, 0o600);
  const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  const parsed = new X509Certificate(cert);
  return { certPath, keyPath, cert, key, spki: spkiFingerprint(parsed), notAfter: new Date(parsed.validTo) };
}

/**
 * base64 SHA-256 of the certificate's SubjectPublicKeyInfo: what Chromium's
 * `--ignore-certificate-errors-spki-list` takes. Node's own X.509 parser is native: start-up
 * parsed the CA three times in JavaScript (asn1js) before.
 */
export function spkiFingerprint(cert: X509Certificate): string {
  return createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
}
