import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSiteCrashes } from './site-crashes.js';

describe('createSiteCrashes', () => {
  it('refuses a site at the limit within the window, and only that site', () => {
    const sites = createSiteCrashes({ limit: 3, windowMs: 1000 });
    assert.deepEqual(sites.charge(['evil.test'], 0), []);
    assert.deepEqual(sites.charge(['evil.test', 'good.test'], 10), []);
    assert.deepEqual(sites.charge(['evil.test'], 20), ['evil.test']);
    assert.equal(sites.refuses('evil.test', 30), true);
    assert.equal(sites.refuses('good.test', 30), false);
    assert.equal(sites.refuses('other.test', 30), false);
    // Out of the window, the site's calls run again.
    assert.equal(sites.refuses('evil.test', 1025), false);
  });

  it('forgets every site on reset, and the one charged longest ago past its size', () => {
    const sites = createSiteCrashes({ limit: 1, windowMs: 1000 }, 2);
    sites.charge(['a.test', 'b.test'], 0);
    sites.charge(['a.test'], 1);
    sites.charge(['c.test'], 2);
    assert.deepEqual(['a.test', 'b.test', 'c.test'].map((site) => sites.refuses(site, 3)), [true, false, true]);
    sites.reset();
    assert.equal(sites.refuses('a.test', 3), false);
  });
});
