import { createPrivateKey, X509Certificate } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, open } from 'node:fs/promises';
import { z } from 'zod';
import { writeFileAtomic } from '../data/write-file-atomic.js';
import type { Logger } from '../events/logger.js';
import type { MintLeaf } from './leaf-certificate.js';

/** The name on the certificate for clients that send no SNI: reserved (RFC 6761), it matches nothing. */
export const NO_SNI_NAME = 'no-sni.aiplugs.invalid';
/** File name in the data dir. */
export const NO_SNI_FILE = 'no-sni-certificate.json';
/** Re-minted when it has less than this left (a leaf lives 30 days at most). */
const RENEW_BEFORE_MS = 7 * 24 * 3_600_000;

/** A PEM chain and a PEM key are a few KiB: anything much bigger is not ours. */
const MAX_FILE_BYTES = 64 * 1024;
const StoredCertificate = z.object({ cert: z.string().max(MAX_FILE_BYTES), key: z.string().max(16 * 1024) });
export type StoredCertificate = z.infer<typeof StoredCertificate>;

/**
 * The stored leaf when it can still be served to clients without SNI (else null): for the reserved
 * name, issued and signed by this CA (a renewed CA makes it stale), with its own key, and not near
 * its end. Node's native X.509 checks only: no certificate library is loaded for this.
 */
function usableNoSniLeaf(stored: StoredCertificate, caCert: X509Certificate, now: Date): X509Certificate | null {
  try {
    const leaf = new X509Certificate(stored.cert); // the first certificate of the chain
    const usable =
      leaf.subject === `CN=${NO_SNI_NAME}` &&
      leaf.subjectAltName === `DNS:${NO_SNI_NAME}` &&
      !leaf.ca &&
      leaf.checkIssued(caCert) &&
      leaf.verify(caCert.publicKey) &&
      leaf.checkPrivateKey(createPrivateKey(stored.key)) &&
      Date.parse(leaf.validTo) - now.getTime() > RENEW_BEFORE_MS;
    return usable ? leaf : null;
  } catch {
    return null;
  }
}

/** The stored file when it is a small regular file (not through a symlink), else null: mint a fresh one. */
async function readStored(path: string): Promise<StoredCertificate | null> {
  const file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => null);
  if (!file) return null;
  try {
    const info = await file.stat();
    if (!info.isFile() || info.size > MAX_FILE_BYTES) return null;
    return StoredCertificate.parse(JSON.parse(await file.readFile('utf8')));
  } catch {
    return null;
  } finally {
    await file.close();
  }
}

/**
 * The certificate served to clients that send no SNI, kept in the data dir beside the CA (its key
 * with mode 0600, as the CA's) so that a start mints nothing. `mint` must give it a key of its
 * own, not the one the process's site certificates share (that one stays in memory): minting needs the certificate
 * library, ~80 ms of start-up CPU with the minter's set-up. Minted on first start, after a CA
 * renewal, or a week before it ends; a running gateway keeps serving what it loaded (the
 * certificate never validates anyway: nothing has that name).
 *
 * @example const { cert, key } = await ensureNoSniCertificate({ path: join(dataDir, NO_SNI_FILE), caCert: ca.cert, mint, logger });
 */
export async function ensureNoSniCertificate(options: { path: string; caCert: string; mint: MintLeaf; logger: Logger; now?: () => Date }): Promise<StoredCertificate> {
  const now = options.now?.() ?? new Date();
  const stored = await readStored(options.path);
  const leaf = stored && usableNoSniLeaf(stored, new X509Certificate(options.caCert), now);
  if (stored && leaf) {
    await chmod(options.path, 0o600); // as the CA key is: whatever a restore from a backup left
    // The checked leaf, then the CA as it is now: nothing else the file may hold is served.
    return { cert: `${leaf.toString()}${options.caCert}`, key: stored.key };
  }
  const { cert, key } = await options.mint(NO_SNI_NAME);
  await writeFileAtomic(options.path, `${JSON.stringify({ cert, key })}\n`, 0o600);
  options.logger.debug(`Minted the certificate for clients without SNI: ${options.path}`);
  return { cert, key };
}
