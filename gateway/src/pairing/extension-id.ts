import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The AiPlugs extension's Chromium id, fixed by the public `key` in extension/wxt.config.ts
 * (`extensionIdFromKey` of that key; a unit test keeps the two in step).
 */
export const AIPLUGS_EXTENSION_ID = 'begpjpdcgffpmaidncfacapllamkklkg';

/** Chromium spells an id as the first 16 bytes of a SHA-256, one hex digit per letter a–p. */
function idFromDigest(digest: Buffer): string {
  return [...digest.subarray(0, 16).toString('hex')].map((digit) => String.fromCharCode(97 + parseInt(digit, 16))).join('');
}

/** The id of an extension whose manifest carries `key` (base64 DER of its public key). */
export function extensionIdFromKey(key: string): string {
  return idFromDigest(createHash('sha256').update(Buffer.from(key, 'base64')).digest());
}

/**
 * The id Chromium gives an unpacked extension: from the manifest's `key`, else from its absolute
 * path (as UTF-8 bytes; Windows hashes the path differently, so there a key is required).
 */
export function unpackedExtensionId(dir: string): string | null {
  let manifest: { key?: unknown };
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { key?: unknown };
  } catch {
    return null;
  }
  if (typeof manifest.key === 'string') return extensionIdFromKey(manifest.key);
  if (process.platform === 'win32') return null;
  return idFromDigest(createHash('sha256').update(resolve(dir)).digest());
}

/** `chrome-extension://<id>`: the Origin a Chromium extension's requests carry. */
export const extensionOrigin = (id: string) => `chrome-extension://${id}`;
