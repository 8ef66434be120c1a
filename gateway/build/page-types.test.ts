import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { PAGE_TYPES_FILE, pageTypesText } from './page-types.js';

test('the committed types/aiplugs-page.d.ts is the declaration output of the runtime\'s public-api.ts (run `npm run types`)', async () => {
  const committed = await readFile(PAGE_TYPES_FILE, 'utf8').catch(() => '(missing)');
  assert.equal(committed, pageTypesText(), 'types/aiplugs-page.d.ts is stale: run `npm run types` and commit the result');
});
