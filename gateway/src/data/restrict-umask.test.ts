import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { restrictUmask } from './restrict-umask.js';

describe('restrictUmask', () => {
  const original = process.umask(0o022);
  process.umask(original);
  afterEach(() => void process.umask(original));

  const umaskAfter = (start: number) => {
    process.umask(start);
    restrictUmask();
    const now = process.umask(start);
    return now;
  };

  it('withholds group and other write under umask 000', () => assert.equal(umaskAfter(0o000), 0o022));
  it('keeps what a stricter umask already withholds', () => assert.equal(umaskAfter(0o077), 0o077));
  it('adds to a umask that withholds other bits only', () => assert.equal(umaskAfter(0o007), 0o027));
});
