import { createPrivateKey, webcrypto } from 'node:crypto';
import { memoizeUntilFailure } from '../async/memoize-until-failure.js';
import { caKeyAlgorithms } from './ca-key.js';
import { loadX509 } from './x509-library.js';

const HOUR_MS = 3_600_000;
/** Short-lived: a leaf is re-minted after this, and no leaf outlives the CA. */
const LEAF_LIFETIME_MS = 30 * 24 * HOUR_MS;
const LEAF_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;

export interface LeafCertificate {
  /** PEM: the leaf, then the CA (the chain a client needs). */
  cert: string;
  /** PEM (PKCS#8) of the leaf key, shared by every leaf this minter makes. */
  key: string;
  notAfter: Date;
}

/** Mints a leaf certificate for one DNS name (already validated, lower-case). */
export type MintLeaf = (host: string) => Promise<LeafCertificate>;

function toPem(der: ArrayBuffer, label: string): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * A leaf-certificate factory signed by our CA: one ECDSA P-256 key for all leaves of this minter,
 * kept in memory only (as mockttp does; whoever could steal it could steal the CA key too), a random serial, exactly
 * one DNS name, server auth only, 30 days at most.
 *
 * @example const mint = await createLeafMinter(ca); const { cert, key } = await mint('shop.example');
 */
export async function createLeafMinter(ca: { cert: string; key: string }, now: () => Date = () => new Date()): Promise<MintLeaf> {
  const x509 = await loadX509();
  const caCert = new x509.X509Certificate(ca.cert);
  // Node reads the key in any encoding (PKCS#8, SEC1, PKCS#1); Web Crypto takes PKCS#8 only.
  const caPrivateKey = createPrivateKey(ca.key);
  const algorithms = caKeyAlgorithms(caPrivateKey);
  const caKey = await webcrypto.subtle.importKey('pkcs8', caPrivateKey.export({ type: 'pkcs8', format: 'der' }), algorithms.importParams, false, ['sign']);
  const caKeyId = caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const authorityKeyId = caKeyId ? new x509.AuthorityKeyIdentifierExtension(caKeyId) : await x509.AuthorityKeyIdentifierExtension.create(caCert);
  const leafKeys = (await webcrypto.subtle.generateKey(LEAF_KEY, true, ['sign', 'verify'])) as CryptoKeyPair;
  const key = toPem(await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey), 'PRIVATE KEY');
  const chainTail = caCert.toString('pem');

  return async (host) => {
    const time = now().getTime();
    const notAfter = new Date(Math.min(time + LEAF_LIFETIME_MS, caCert.notAfter.getTime()));
    const serial = Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)));
    serial[0] = (serial[0] ?? 0) & 0x7f; // positive INTEGER
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: serial.toString('hex'),
      subject: `CN=${host}`,
      issuer: caCert.subjectName,
      // An hour of slack for clocks that run a little behind ours.
      notBefore: new Date(time - HOUR_MS),
      notAfter,
      signingAlgorithm: algorithms.signing,
      publicKey: leafKeys.publicKey,
      signingKey: caKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: host }]),
        authorityKeyId,
      ],
    });
    return { cert: `${leaf.toString('pem')}\n${chainTail}`, key, notAfter };
  };
}

/**
 * A minter set up on first use, or ahead of it by `warmUp` (the gateway calls it once it is
 * ready): setting one up loads the certificate library and imports the CA key, which a gateway
 * does not need to start listening. A set-up that fails is tried again on the next use.
 *
 * @example const leaves = createLazyLeafMinter(ca); const { cert } = await leaves.mint('shop.example');
 */
export function createLazyLeafMinter(ca: { cert: string; key: string }, now?: () => Date): { mint: MintLeaf; warmUp(): Promise<void> } {
  const setUp = memoizeUntilFailure(() => createLeafMinter(ca, now));
  return {
    mint: async (host) => (await setUp())(host),
    warmUp: async () => {
      await setUp();
    },
  };
}
