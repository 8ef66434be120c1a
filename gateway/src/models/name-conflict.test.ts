import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nameConflict } from './name-conflict.js';

const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);
const claim = (plugin: string, declared: string, expected: string | null, peers: Array<[string, string]>) => ({
  filename: 'm.bin',
  target: '/models/m.bin',
  expected,
  declared,
  plugins: [plugin],
  peers: peers.map(([peer, sha256]) => ({ filename: 'm.bin', plugin: peer, sha256 })),
});

describe('nameConflict', () => {
  it('lets plugins that declare the same thing share the file, "pending" included, pinned or not', () => {
    assert.equal(nameConflict(claim('bb', 'pending', null, [['aa', 'pending']]), undefined), null);
    assert.equal(nameConflict(claim('bb', 'pending', HASH_A, [['aa', 'pending']]), undefined), null, 'pinned, the file since removed');
    assert.equal(nameConflict(claim('bb', HASH_A, HASH_A, [['aa', HASH_A]]), undefined), null);
  });

  it('leaves a verified file to the plugin whose hash it has', () => {
    assert.equal(nameConflict(claim('zz', HASH_A, HASH_A, [['aa', HASH_B]]), HASH_A), null);
    assert.equal(nameConflict(claim('aa', HASH_B, HASH_B, [['zz', HASH_A]]), HASH_A)?.code, 'conflict');
  });

  it('leaves a file alone that a rival declaring "pending" may have pinned', () => {
    assert.equal(nameConflict(claim('aa', HASH_B, HASH_B, [['zz', 'pending']]), HASH_A)?.code, 'conflict');
  });

  it('gives a name no file holds yet to the first declaring plugin in id order', () => {
    assert.equal(nameConflict(claim('aa', HASH_A, HASH_A, [['bb', HASH_B]]), undefined), null);
    assert.equal(nameConflict(claim('bb', HASH_B, HASH_B, [['aa', HASH_A]]), undefined)?.code, 'conflict');
  });
});
