import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALGORITHM = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
const DAY = 86_400_000;

export interface KeyAndCert {
  key: string;
  cert: string;
}

async function pemKey(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').match(/.{1,64}/g)?.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

/** A throw-away certificate authority standing in for a public CA in upstream TLS tests. */
export async function testAuthority(): Promise<KeyAndCert & { keys: CryptoKeyPair }> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=AiPlugs test upstream CA',
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 30 * DAY),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  return { keys, key: await pemKey(keys.privateKey), cert: cert.toString('pem') };
}

/** A server certificate for `host`, signed by `authority` (or by itself), valid in the given window. */
export async function serverCertificate(options: { host: string; authority?: Awaited<ReturnType<typeof testAuthority>>; notBefore?: Date; notAfter?: Date }): Promise<KeyAndCert> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const common = {
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex').replace(/^./, '1'),
    notBefore: options.notBefore ?? new Date(Date.now() - DAY),
    notAfter: options.notAfter ?? new Date(Date.now() + 10 * DAY),
    signingAlgorithm: ALGORITHM,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: options.host }])],
  };
  const cert = options.authority
    ? await x509.X509CertificateGenerator.create({
        ...common,
        subject: `CN=${options.host}`,
        issuer: 'CN=AiPlugs test upstream CA',
        publicKey: keys.publicKey,
        signingKey: options.authority.keys.privateKey,
      })
    : await x509.X509CertificateGenerator.createSelfSigned({ ...common, name: `CN=${options.host}`, keys });
  return { key: await pemKey(keys.privateKey), cert: cert.toString('pem') };
}
