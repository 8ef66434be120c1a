import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger as logger } from '../../../test/support/silent-logger.js';
import { generateCa } from './certificate-authority.js';
import { createLazyLeafMinter, createLeafMinter, type MintLeaf } from './leaf-certificate.js';
import { ensureNoSniCertificate, NO_SNI_FILE, NO_SNI_NAME } from './no-sni-certificate.js';

const DAY_MS = 86_400_000;

/** A minter that counts its mints. */
function counting(mint: MintLeaf): { mint: MintLeaf; count: () => number } {
  let count = 0;
  return {
    mint: async (host) => {
      count += 1;
      return mint(host);
    },
    count: () => count,
  };
}

describe('the certificate for clients without SNI', () => {
  let dir: string;
  let path: string;
  const now = new Date('2026-12-01T00:00:00Z');
  let ca: { cert: string; key: string };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aiplugs-no-sni-'));
    path = join(dir, NO_SNI_FILE);
    ca = await generateCa(365, now);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('is minted once, kept with mode 0600, and served from the data dir on the next start', async () => {
    const minter = counting(await createLeafMinter(ca, () => now));
    const first = await ensureNoSniCertificate({ path, caCert: ca.cert, mint: minter.mint, logger, now: () => now });
    assert.equal(new X509Certificate(first.cert).subject, `CN=${NO_SNI_NAME}`);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    await chmod(path, 0o644); // as a restore from a backup may leave it
    const again = await ensureNoSniCertificate({ path, caCert: ca.cert, mint: minter.mint, logger, now: () => new Date(now.getTime() + 20 * DAY_MS) });
    assert.deepEqual(again, first);
    assert.equal(minter.count(), 1);
    assert.equal((await stat(path)).mode & 0o777, 0o600, 'made private again');
  });

  it('serves only the checked certificate and the CA, and reads no file through a symlink or past its size', async () => {
    const minter = counting(await createLeafMinter(ca, () => now));
    const first = await ensureNoSniCertificate({ path, caCert: ca.cert, mint: minter.mint, logger, now: () => now });
    const extra = (await generateCa(365, now)).cert;
    await writeFile(path, JSON.stringify({ cert: `${first.cert}${extra}`, key: first.key }));
    const served = await ensureNoSniCertificate({ path, caCert: ca.cert, mint: minter.mint, logger, now: () => now });
    assert.equal(served.cert, first.cert, 'the appended certificate is not served');
    const counted = minter.count();
    const elsewhere = join(dir, 'elsewhere.json');
    await writeFile(elsewhere, JSON.stringify(first));
    await rm(path);
    await symlink(elsewhere, path);
    await ensureNoSniCertificate({ path, caCert: ca.cert, mint: minter.mint, logger, now: () => now });
    assert.equal(minter.count(), counted + 1, 'a symlink is not followed: a fresh one replaces it');
    assert.ok((await stat(path)).isFile());
    await writeFile(path, JSON.stringify({ ...first, padding: 'x'.repeat(70 * 1024) }));
    await ensureNoSniCertificate({ path, caCert: ca.cert, mint: minter.mint, logger, now: () => now });
    assert.equal(minter.count(), counted + 2, 'a file over 64 KiB is not read');
  });

  it('is minted again a week before it ends, for a renewed CA, or when the file is not a usable certificate', async () => {
    const minter = counting(await createLeafMinter(ca, () => now));
    await ensureNoSniCertificate({ path, caCert: ca.cert, mint: minter.mint, logger, now: () => now });
    const baseline = minter.count();
    await ensureNoSniCertificate({ path, caCert: ca.cert, mint: minter.mint, logger, now: () => new Date(now.getTime() + 24 * DAY_MS) });
    assert.equal(minter.count(), baseline + 1, '6 days left');

    const renewed = await generateCa(365, now);
    const renewedMinter = counting(await createLeafMinter(renewed, () => now));
    const fresh = await ensureNoSniCertificate({ path, caCert: renewed.cert, mint: renewedMinter.mint, logger, now: () => now });
    assert.equal(renewedMinter.count(), 1, 'signed by the old CA');
    assert.ok(new X509Certificate(fresh.cert).checkIssued(new X509Certificate(renewed.cert)));

    const stored = JSON.parse(await readFile(path, 'utf8')) as { cert: string; key: string };
    const other = await createLeafMinter(renewed, () => now);
    const cases: Array<[string, string]> = [
      ['not JSON', 'not json'],
      ['too big', JSON.stringify({ cert: 'x'.repeat(70 * 1024), key: stored.key })],
      ['another name', JSON.stringify(await other('shop.example'))],
      ['another key', JSON.stringify({ cert: stored.cert, key: (await other(NO_SNI_NAME)).key })],
    ];
    for (const [what, content] of cases) {
      await writeFile(path, content);
      const before = renewedMinter.count();
      const served = await ensureNoSniCertificate({ path, caCert: renewed.cert, mint: renewedMinter.mint, logger, now: () => now });
      assert.equal(renewedMinter.count(), before + 1, what);
      assert.equal(new X509Certificate(served.cert).subject, `CN=${NO_SNI_NAME}`, what);
    }
  });
});

describe('createLazyLeafMinter', () => {
  it('sets up nothing until it mints or is warmed up, and tries again after a failed set-up', async () => {
    const ca = await generateCa(365, new Date());
    // The minter reads the CA when it sets up, so what `given` holds at that moment tells when that was.
    const given = { cert: ca.cert, key: 'not a key' };
    const leaves = createLazyLeafMinter(given);
    given.key = ca.key;
    await leaves.warmUp(); // set up only now: it got the mended key
    const broken = { cert: ca.cert, key: ca.key };
    const retried = createLazyLeafMinter(broken);
    broken.key = 'not a key';
    await assert.rejects(retried.warmUp());
    broken.key = ca.key;
    const { cert } = await retried.mint('shop.example');
    assert.equal(new X509Certificate(cert).subject, 'CN=shop.example', 'a failed set-up is not kept as the answer');
  });
});
