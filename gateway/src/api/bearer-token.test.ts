import assert from 'node:assert/strict';
import { it } from 'node:test';
import { bearerToken } from './bearer-token.js';

it('reads a Bearer token whatever the case of the scheme, and nothing else', () => {
  for (const header of ['Bearer abc', 'bearer abc', 'BEARER  abc ', 'Bearer\tabc']) assert.equal(bearerToken(header), 'abc', header);
  for (const header of ['', 'Basic abc', 'Bearerabc', 'Bearer']) assert.equal(bearerToken(header), '', header);
});
