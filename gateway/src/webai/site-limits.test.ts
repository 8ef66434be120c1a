import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../api/api-error.js';
import { createSiteLimits } from './site-limits.js';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return null;
  } catch (error) {
    return error instanceof ApiError ? error.code : 'other';
  }
};

describe('createSiteLimits', () => {
  it('allows requestsPerMinute calls per origin in a sliding minute, each origin on its own', () => {
    let time = 0;
    const limits = createSiteLimits({ requestsPerMinute: () => 3, maxConcurrent: () => 1, now: () => time });
    for (let i = 0; i < 3; i += 1) limits.admit('https://a.example');
    assert.equal(codeOf(() => limits.admit('https://a.example')), 'webai_rate_limited');
    assert.equal(codeOf(() => limits.admit('https://b.example')), null);
    time = 60_001;
    assert.equal(codeOf(() => limits.admit('https://a.example')), null);
  });

  it('caps concurrent generations per origin until they are released (once)', () => {
    const limits = createSiteLimits({ requestsPerMinute: () => 100, maxConcurrent: () => 2, now: () => 0 });
    const first = limits.startGeneration('https://a.example');
    limits.startGeneration('https://a.example');
    assert.equal(codeOf(() => limits.startGeneration('https://a.example')), 'webai_rate_limited');
    first();
    first();
    assert.equal(codeOf(() => limits.startGeneration('https://a.example')), null);
    assert.equal(codeOf(() => limits.startGeneration('https://a.example')), 'webai_rate_limited');
  });

  it("counts a site's subdomains, ports and schemes together: another subdomain gets no minute or generation slots of its own", () => {
    const limits = createSiteLimits({ requestsPerMinute: () => 2, maxConcurrent: () => 1, now: () => 0 });
    limits.admit('https://a.evil.com');
    limits.admit('http://b.evil.com:8080');
    assert.equal(codeOf(() => limits.admit('https://c.evil.com')), 'webai_rate_limited');
    limits.startGeneration('https://a.evil.com');
    assert.equal(codeOf(() => limits.startGeneration('https://d.evil.com')), 'webai_rate_limited');
    assert.equal(codeOf(() => limits.admit('https://alice.github.io')), null);
    assert.equal(codeOf(() => limits.admit('https://bob.github.io')), null);
  });
});
