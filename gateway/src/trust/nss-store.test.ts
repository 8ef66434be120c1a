import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { generateCACertificate } from 'mockttp';
import { findOnPath } from '../os/run-command.js';
import { installCa, readTrustRecord, trustStatus, uninstallCa } from './ca-trust.js';
import { chromiumNssDb, nssCommands } from './nss-store.js';
import { makeTestCa } from './test-ca.js';
import { skipUnlessInstalled, TOOLS } from '../../../test/support/required-tools.js';

const skip = process.platform !== 'linux' ? 'NSS round trip runs on Linux' : await skipUnlessInstalled(TOOLS.certutil);
const certutil = await findOnPath(['certutil']);

describe('NSS trust store (real certutil)', { skip }, () => {
  const cleanup: string[] = [];
  after(async () => {
    for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
  });

  it('installs into ~/.pki/nssdb and existing Firefox profiles, then removes exactly that', async () => {
    const ca = await makeTestCa();
    const home = await mkdtemp(join(tmpdir(), 'aiplugs-home-'));
    const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-data-'));
    cleanup.push(ca.dir, home, dataDir);
    const profile = join(home, '.mozilla/firefox/abc123.default-release');
    await mkdir(profile, { recursive: true });
    execFileSync(certutil!, ['-d', `sql:${profile}`, '-N', '--empty-password']);
    // Something the user trusts already: must survive our uninstall untouched.
    // (NSS keeps one nickname per subject, so the user's own CA has a subject of its own.)
    const other = await generateCACertificate({ subject: { commonName: 'User own CA' } });
    await writeFile(join(home, 'own.pem'), other.cert);
    execFileSync(certutil!, ['-d', `sql:${profile}`, '-A', '-t', 'C,,', '-n', 'user-own-ca', '-i', join(home, 'own.pem')]);

    const options = { dataDir, home, platform: 'linux' as const };
    const before = await trustStatus(ca, options);
    assert.equal(before.trustedAnywhere, false);

    const added = await installCa(ca, ['nss'], options);
    assert.deepEqual(added.map((change) => [change.location, change.outcome]), [[chromiumNssDb(home), 'added'], [profile, 'added']]);
    assert.ok(existsSync(join(home, '.pki/nssdb/cert9.db')));
    const listing = execFileSync(certutil!, ['-d', `sql:${chromiumNssDb(home)}`, '-L'], { encoding: 'utf8' });
    assert.match(listing, new RegExp(`${ca.nickname}\\s+C,,`));

    const during = await trustStatus(ca, options);
    const nss = during.stores.find((store) => store.id === 'nss')!;
    assert.deepEqual(nss.locations.map((l) => [l.trusted, l.addedByAiplugs]), [[true, true], [true, true]]);

    const again = await installCa(ca, ['nss'], options);
    assert.deepEqual(again.map((change) => change.outcome), ['already-trusted', 'already-trusted']);
    assert.equal((await readTrustRecord(dataDir)).length, 2);

    const removed = await uninstallCa(options);
    assert.deepEqual(removed.map((change) => change.outcome), ['removed', 'removed']);
    assert.equal((await trustStatus(ca, options)).trustedAnywhere, false);
    assert.deepEqual(await readTrustRecord(dataDir), []);
    assert.match(execFileSync(certutil!, ['-d', `sql:${profile}`, '-L'], { encoding: 'utf8' }), /user-own-ca\s+C,,/);
  });

  it('does not record (nor later remove) a CA that was trusted before install', async () => {
    const ca = await makeTestCa();
    const home = await mkdtemp(join(tmpdir(), 'aiplugs-home-'));
    const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-data-'));
    cleanup.push(ca.dir, home, dataDir);
    const db = chromiumNssDb(home);
    await mkdir(db, { recursive: true });
    execFileSync(certutil!, nssCommands.create('certutil', db).args);
    execFileSync(certutil!, nssCommands.add('certutil', db, ca).args);
    const changes = await installCa(ca, ['nss'], { dataDir, home, platform: 'linux' });
    assert.deepEqual(changes.map((change) => change.outcome), ['already-trusted']);
    assert.deepEqual(await uninstallCa({ dataDir, home, platform: 'linux' }), []);
    assert.match(execFileSync(certutil!, ['-d', `sql:${db}`, '-L'], { encoding: 'utf8' }), new RegExp(ca.nickname));
  });

  it('reports a missing certutil with the package to install', async () => {
    const ca = await makeTestCa();
    const home = await mkdtemp(join(tmpdir(), 'aiplugs-home-'));
    const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-data-'));
    cleanup.push(ca.dir, home, dataDir);
    await writeFile(join(dataDir, 'placeholder'), '');
    const { nssStore } = await import('./nss-store.js');
    const store = nssStore({ home, platform: 'linux', certutil: 'certutil-that-does-not-exist' });
    const changes = await installCa(ca, ['nss'], { dataDir, stores: [store] });
    assert.equal(changes[0]?.outcome, 'failed');
    assert.match(changes[0]?.error ?? '', /libnss3-tools/);
  });
});
