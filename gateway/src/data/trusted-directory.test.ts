import assert from 'node:assert/strict';
import { chmod, chown, lchown, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ancestorDistrustReason, checkTrustedDirectory, distrustReason } from './trusted-directory.js';

const USER = 1000;
const OTHER = 12345;
const DIR = 0o040000;

describe('distrustReason', () => {
  const codeRule = { userUid: USER, userGid: USER, trustRoot: true };
  const dataRule = { userUid: USER, userGid: USER, trustRoot: false };

  it("trusts the user's folder, group-writable too (Debian's umask 002 with a group per user)", () => {
    assert.equal(distrustReason({ uid: USER, gid: USER, mode: DIR | 0o755 }, codeRule), null);
    assert.equal(distrustReason({ uid: USER, gid: USER, mode: DIR | 0o775 }, codeRule), null);
  });

  it("refuses another account's folder, and root's unless the rule trusts root", () => {
    assert.equal(distrustReason({ uid: OTHER, gid: OTHER, mode: DIR | 0o700 }, codeRule), 'owned by another account (uid 12345)');
    assert.equal(distrustReason({ uid: 0, gid: 0, mode: DIR | 0o755 }, codeRule), null);
    assert.equal(distrustReason({ uid: 0, gid: 0, mode: DIR | 0o755 }, dataRule), 'owned by another account (uid 0)');
  });

  it("refuses a group-writable folder whose group is not the user's own (a shared group's members are other accounts)", () => {
    assert.equal(distrustReason({ uid: USER, gid: 100, mode: DIR | 0o775 }, codeRule), 'writable by the members of group 100 (mode 0775)');
    assert.equal(distrustReason({ uid: USER, gid: 100, mode: DIR | 0o755 }, codeRule), null);
    assert.equal(distrustReason({ uid: 0, gid: 0, mode: DIR | 0o775 }, codeRule), null);
  });

  it('refuses a folder every account can write, even its own', () => {
    assert.equal(distrustReason({ uid: USER, gid: USER, mode: DIR | 0o777 }, codeRule), 'writable by other accounts (mode 0777)');
    assert.equal(distrustReason({ uid: 0, gid: 0, mode: DIR | 0o1777 }, codeRule), 'writable by other accounts (mode 0777)');
  });
});

describe('ancestorDistrustReason', () => {
  const rule = { userUid: USER, userGid: USER, trustRoot: false };

  it("trusts root's folders above any folder, and the user's", () => {
    assert.equal(ancestorDistrustReason({ uid: 0, gid: 0, mode: DIR | 0o755 }, rule), null);
    assert.equal(ancestorDistrustReason({ uid: USER, gid: USER, mode: DIR | 0o700 }, rule), null);
  });

  it('trusts a sticky folder others may write (/tmp): they cannot rename what is not theirs', () => {
    assert.equal(ancestorDistrustReason({ uid: 0, gid: 0, mode: DIR | 0o1777 }, rule), null);
    assert.equal(ancestorDistrustReason({ uid: OTHER, gid: OTHER, mode: DIR | 0o1777 }, rule), 'owned by another account (uid 12345)');
  });

  it("trusts one writable by a group whose members could become root anyway (Homebrew's admin, Debian's staff)", () => {
    const rootLike = (gid: number) => gid === 80;
    assert.equal(ancestorDistrustReason({ uid: USER, gid: 80, mode: DIR | 0o775 }, rule, rootLike), null);
    assert.equal(ancestorDistrustReason({ uid: USER, gid: 100, mode: DIR | 0o775 }, rule, rootLike), 'writable by the members of group 100 (mode 0775)');
    assert.equal(ancestorDistrustReason({ uid: USER, gid: 80, mode: DIR | 0o777 }, rule, rootLike), 'writable by other accounts (mode 0777)');
  });

  it('refuses one others may write without the sticky bit, and one another account owns', () => {
    assert.equal(ancestorDistrustReason({ uid: 0, gid: 0, mode: DIR | 0o777 }, rule), 'writable by other accounts (mode 0777)');
    assert.equal(ancestorDistrustReason({ uid: USER, gid: 100, mode: DIR | 0o775 }, rule), 'writable by the members of group 100 (mode 0775)');
    assert.equal(ancestorDistrustReason({ uid: OTHER, gid: OTHER, mode: DIR | 0o755 }, rule), 'owned by another account (uid 12345)');
  });
});

const isRoot = process.getuid?.() === 0;
describe('checkTrustedDirectory', { skip: !isRoot && process.env.CI !== 'true' ? 'needs root to chown a folder to another account' : false }, () => {
  const roots: string[] = [];
  after(async () => {
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });
  const scratch = async () => {
    const root = await mkdtemp(join(tmpdir(), 'aiplugs-trusted-'));
    roots.push(root);
    return root;
  };

  it("reads the folder's owner and mode", async () => {
    const root = await scratch();
    assert.equal(await checkTrustedDirectory(root, { trustRoot: false }), null);
    await chmod(root, 0o777);
    assert.equal(await checkTrustedDirectory(root, { trustRoot: false }), 'writable by other accounts (mode 0777)');
    await chmod(root, 0o700);
    await chown(root, OTHER, OTHER);
    assert.equal(await checkTrustedDirectory(root, { trustRoot: false }), 'owned by another account (uid 12345)');
  });

  it("follows a symlink to the folder, and refuses another account's symlink, which it can repoint", async () => {
    const root = await scratch();
    const theirs = join(root, 'theirs');
    await mkdir(theirs);
    await chown(theirs, OTHER, OTHER);
    await symlink(theirs, join(root, 'to-theirs'));
    assert.equal(await checkTrustedDirectory(join(root, 'to-theirs'), { trustRoot: true }), 'owned by another account (uid 12345)');
    const mine = join(root, 'mine');
    await mkdir(mine);
    await symlink(mine, join(root, 'their-link'));
    await lchown(join(root, 'their-link'), OTHER, OTHER);
    assert.equal(await checkTrustedDirectory(join(root, 'their-link'), { trustRoot: true }), 'a symlink owned by another account (uid 12345)');
  });

  it('refuses a folder inside one another account could swap it out of, by the path as named or as resolved', async () => {
    const root = await scratch();
    const shared = join(root, 'shared');
    await mkdir(join(shared, 'mine'), { recursive: true });
    await chmod(shared, 0o777);
    assert.equal(await checkTrustedDirectory(join(shared, 'mine'), { trustRoot: false }), `inside ${shared}, which is writable by other accounts (mode 0777)`);
    await chmod(shared, 0o1777);
    assert.equal(await checkTrustedDirectory(join(shared, 'mine'), { trustRoot: false }), null, 'sticky, as /tmp');
    await chmod(shared, 0o755);
    await chown(shared, OTHER, OTHER);
    assert.equal(await checkTrustedDirectory(join(shared, 'mine'), { trustRoot: false }), `inside ${shared}, which is owned by another account (uid 12345)`);
    // Named through a folder of the user's that links into it: the folders it resolves to count too.
    await symlink(shared, join(root, 'via'));
    assert.equal(await checkTrustedDirectory(join(root, 'via', 'mine'), { trustRoot: false }), `inside ${shared}, which is owned by another account (uid 12345)`);
    // And a link in the named path that another account owns, which it can repoint.
    await chown(shared, 0, 0);
    await lchown(join(root, 'via'), OTHER, OTHER);
    assert.equal(await checkTrustedDirectory(join(root, 'via', 'mine'), { trustRoot: false }), `inside ${join(root, 'via')}, which is a symlink owned by another account (uid 12345)`);
  });

  it('follows a chain of symlinks hop by hop: a folder others can write between two links counts', async () => {
    // data → open/hop → real: the named path and the resolved one are both the user's; open is not.
    const root = await scratch();
    await mkdir(join(root, 'real'));
    await mkdir(join(root, 'open'));
    await chmod(join(root, 'open'), 0o777);
    await symlink(join(root, 'real'), join(root, 'open', 'hop'));
    await symlink(join(root, 'open', 'hop'), join(root, 'data'));
    assert.equal(await checkTrustedDirectory(join(root, 'data'), { trustRoot: false }), `inside ${join(root, 'open')}, which is writable by other accounts (mode 0777)`);
    // And `..` after a link is taken where the link leads, as the kernel takes it.
    await chmod(join(root, 'open'), 0o755);
    // (open/hop/../sub is root/sub, next to real; path.join would have made it open/sub.)
    await mkdir(join(root, 'sub'));
    await lchown(join(root, 'open', 'hop'), OTHER, OTHER);
    assert.equal(await checkTrustedDirectory(`${root}/open/hop/../sub`, { trustRoot: false }), `inside ${join(root, 'open', 'hop')}, which is a symlink owned by another account (uid 12345)`);
  });

  it('rejects when there is nothing there', async () => {
    await assert.rejects(checkTrustedDirectory(join(await scratch(), 'absent'), { trustRoot: true }), { code: 'ENOENT' });
  });
});
