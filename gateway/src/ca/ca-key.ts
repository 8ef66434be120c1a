import { createPrivateKey, type KeyObject } from 'node:crypto';

/** Web Crypto parameters to import a CA key for signing, and to sign certificates with it. */
export interface CaKeyAlgorithms {
  importParams: RsaHashedImportParams | EcKeyImportParams;
  signing: RsaHashedImportParams | EcdsaParams;
}

/** What new CAs are made with: ECDSA P-256 (a key in well under a millisecond, where RSA-2048 takes a few hundred). */
export const NEW_CA_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const NEW_CA_SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** The shortest RSA CA key still accepted: what AiPlugs made before ECDSA. */
const MIN_RSA_BITS = 2048;

/**
 * The algorithms for a CA key of a kind AiPlugs made: ECDSA P-256 (new installs) or RSA (CAs made
 * before, of at least 2048 bits, kept until they rotate, since users trusted them). Throws for
 * anything else.
 */
export function caKeyAlgorithms(key: string | KeyObject): CaKeyAlgorithms {
  const object = typeof key === 'string' ? createPrivateKey(key) : key;
  if (object.asymmetricKeyType === 'rsa') {
    const bits = object.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) throw new Error(`an RSA CA key of ${bits} bits is too short (at least ${MIN_RSA_BITS})`);
    const rsa = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { importParams: rsa, signing: rsa };
  }
  if (object.asymmetricKeyType === 'ec' && object.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return { importParams: NEW_CA_KEY, signing: NEW_CA_SIGNING };
  }
  throw new Error(`a ${object.asymmetricKeyType ?? 'unknown'} CA key is not supported (ECDSA P-256 or RSA)`);
}
