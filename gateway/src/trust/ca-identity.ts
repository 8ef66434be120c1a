import { X509Certificate } from 'node:crypto';

/** What every trust store needs to add, find and remove one CA certificate. */
export interface CaIdentity {
  certPath: string;
  /** The certificate as PEM (public; kept in `trust.json` so a rotated CA can still be removed). */
  pem: string;
  /** SHA-1 thumbprint, upper-case hex without colons (macOS `-Z`, Windows cert id). */
  sha1: string;
  /** SHA-256 fingerprint, upper-case hex without colons. */
  sha256: string;
  /** The NSS nickname and system file stem: unique per CA, so we only ever touch our own entry. */
  nickname: string;
  subject: string;
}

/** Derives the identity of a CA certificate from its PEM. */
export function caIdentity(certPath: string, pem: string): CaIdentity {
  const cert = new X509Certificate(pem);
  const sha256 = cert.fingerprint256.replace(/:/g, '').toUpperCase();
  return {
    certPath,
    pem,
    sha1: cert.fingerprint.replace(/:/g, '').toUpperCase(),
    sha256,
    nickname: `AiPlugs local CA ${sha256.slice(0, 16)}`,
    subject: cert.subject.replace(/\n/g, ', '),
  };
}

/** The base64 body of a PEM, for comparing certificates regardless of line breaks. */
export function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, '');
}
