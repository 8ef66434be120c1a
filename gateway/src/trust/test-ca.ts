import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCa } from '../ca/certificate-authority.js';
import { caIdentity, type CaIdentity } from './ca-identity.js';

/** A fresh CA written to a temp folder, for trust-store tests. */
export async function makeTestCa(): Promise<CaIdentity & { dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'aiplugs-trust-test-'));
  const { cert } = await generateCa(30, new Date());
  const certPath = join(dir, 'ca.pem');
  await writeFile(certPath, cert);
  return { ...caIdentity(certPath, cert), dir };
}
