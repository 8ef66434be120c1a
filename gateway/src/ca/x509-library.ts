import { webcrypto } from 'node:crypto';
import { memoizeUntilFailure } from '../async/memoize-until-failure.js';

type X509Library = typeof import('@peculiar/x509');

/**
 * @peculiar/x509 (certificate generation; Node can parse and verify X.509 but not make it), loaded
 * on first use and set to Node's Web Crypto. Evaluating it and the ASN.1 packages it brings is
 * ~50 ms of CPU, which the gateway needs only to make a CA (first start) or mint a leaf (the first
 * HTTPS site), not to become ready.
 *
 * @example const x509 = await loadX509(); new x509.X509Certificate(pem);
 */
export const loadX509: () => Promise<X509Library> = memoizeUntilFailure(async () => {
  const module = await import('@peculiar/x509');
  // A CommonJS package: imported by Node, `default` is its exports and the names are copied
  // beside it; imported by the bundle (esbuild), there is only `default`.
  const x509 = (module as { default?: X509Library }).default ?? module;
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  return x509;
});
