import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NAVIGATION_VARY, withVary } from './response-headers.js';

describe('withVary', () => {
  it('adds the names to a response without Vary, or after the ones it has', () => {
    assert.deepEqual(withVary({ 'content-type': 'text/html' }, NAVIGATION_VARY), { 'content-type': 'text/html', vary: 'sec-fetch-dest, sec-fetch-mode' });
    assert.deepEqual(withVary({ Vary: 'Accept-Encoding' }, NAVIGATION_VARY), { vary: 'Accept-Encoding, sec-fetch-dest, sec-fetch-mode' });
    assert.deepEqual(withVary({ vary: ['Accept-Encoding', 'Cookie'] }, ['sec-fetch-dest']), { vary: 'Accept-Encoding, Cookie, sec-fetch-dest' });
  });

  it('leaves a Vary that names them already (in any case), or is *, as it is', () => {
    const named = { vary: 'Accept, Sec-Fetch-Dest, Sec-Fetch-Mode' };
    assert.equal(withVary(named, NAVIGATION_VARY), named);
    const star = { vary: '*' };
    assert.equal(withVary(star, NAVIGATION_VARY), star);
    assert.deepEqual(withVary({ vary: 'sec-fetch-dest' }, ['sec-fetch-dest', 'upgrade-insecure-requests']), { vary: 'sec-fetch-dest, upgrade-insecure-requests' });
  });
});
