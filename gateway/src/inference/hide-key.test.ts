import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../api/api-error.js';
import { hideKey, hideKeyInError } from './hide-key.js';

const KEY = 'sk-"quoted"/key+0123456789';

test('hides the key as sent, with its Bearer, JSON-escaped and URL-encoded', () => {
  assert.equal(hideKey(`Authorization: Bearer ${KEY}`, KEY), 'Authorization: [redacted]');
  assert.equal(hideKey(`authorization: bearer  ${KEY}!`, KEY), 'authorization: [redacted]!');
  assert.equal(hideKey(JSON.stringify({ authorization: `Bearer ${KEY}` }), KEY), '{"authorization":"[redacted]"}');
  assert.equal(hideKey(`?key=${encodeURIComponent(KEY)}&x=1`, KEY), '?key=[redacted]&x=1');
  assert.equal(hideKey(`${KEY} and ${KEY}`, KEY), '[redacted] and [redacted]');
});

test('hides a start of the key cut short by "…" or by the end of the text', () => {
  assert.equal(hideKey(`the server said: ${KEY.slice(0, 9)}… (check cloud.api_key)`, KEY), 'the server said: [redacted]… (check cloud.api_key)');
  assert.equal(hideKey(`excerpt: {"h":"Bearer ${JSON.stringify(KEY).slice(1, 12)}`, KEY), 'excerpt: {"h":"[redacted]');
});

test("hides the key in PHP's JSON (a / escaped), and a long key's cut start without a regex per length", () => {
  assert.equal(hideKey(`{"h":"Bearer ${JSON.stringify(KEY).slice(1, -1).replaceAll('/', '\\/')}"}`, KEY), '{"h":"[redacted]"}');
  const long = `tok-${'x9/'.repeat(700)}end`;
  assert.equal(hideKey(`said: Bearer ${long.slice(0, 1500)}…`, long), 'said: [redacted]…');
  assert.equal(hideKey(`a ${long.slice(0, 3)}… b ${long.slice(0, 40)}`, long), `a ${long.slice(0, 3)}… b [redacted]`);
});

test('leaves other text, and texts without a key, alone', () => {
  assert.equal(hideKey('Incorrect API key provided: sk-****6789', KEY), 'Incorrect API key provided: sk-****6789');
  assert.equal(hideKey(`Bearer ${KEY}`, null), `Bearer ${KEY}`);
  assert.equal(hideKey('abc abc', 'abc'), 'abc abc', 'too short to hide anything');
});

test('hideKeyInError keeps the status and code of an ApiError', () => {
  const hidden = hideKeyInError(new ApiError(502, 'cloud_error', `failed: ${KEY}`), KEY) as ApiError;
  assert.ok(hidden instanceof ApiError);
  assert.deepEqual([hidden.status, hidden.code, hidden.message], [502, 'cloud_error', 'failed: [redacted]']);
  const untouched = new ApiError(504, 'cloud_timeout', 'slow');
  assert.equal(hideKeyInError(untouched, KEY), untouched);
});
