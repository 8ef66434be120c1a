import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../package-paths.js';
import { buildManifestJsonSchema, FIELD_DESCRIPTIONS, fieldPaths, MANIFEST_SCHEMA_PATH, manifestJsonSchemaText } from './manifest-json-schema.js';

describe('manifest JSON Schema', () => {
  it('the committed schemas/manifest.schema.json is up to date (run `npm run schema` after changing the zod schema)', async () => {
    const committed = await readFile(new URL(MANIFEST_SCHEMA_PATH, PACKAGE_ROOT), 'utf8').catch(() => '(missing)');
    assert.equal(committed, manifestJsonSchemaText(), `${MANIFEST_SCHEMA_PATH} is stale: run \`npm run schema\` and commit the result`);
  });

  it('describes every field, so editors explain it', () => {
    const undocumented = fieldPaths(buildManifestJsonSchema()).filter((path) => !FIELD_DESCRIPTIONS[path]);
    assert.deepEqual(undocumented, [], 'add these paths to FIELD_DESCRIPTIONS in manifest-json-schema.ts');
  });

  it('has no description for a field that no longer exists', () => {
    const paths = new Set(['', ...fieldPaths(buildManifestJsonSchema())]);
    assert.deepEqual(Object.keys(FIELD_DESCRIPTIONS).filter((path) => !paths.has(path)), []);
  });

  it('docs/PLUGINS.md documents every field in its manifest reference', async () => {
    const docs = await readFile(new URL('docs/PLUGINS.md', PACKAGE_ROOT), 'utf8');
    const missing = fieldPaths(buildManifestJsonSchema()).filter((path) => !path.endsWith('[]') && !docs.includes(`| \`${path}\` |`));
    assert.deepEqual(missing, [], 'add a row for each to the manifest reference table');
  });

  it('keeps the checks JSON Schema can express: required fields, patterns, enums', () => {
    const schema = buildManifestJsonSchema() as { required: string[]; properties: Record<string, { pattern?: string; const?: unknown }> };
    assert.deepEqual(schema.required, ['manifest_version', 'id', 'name', 'version']);
    assert.equal(schema.properties.manifest_version?.const, 3);
    assert.match('language-lens', new RegExp(schema.properties.id?.pattern ?? '(none)'));
    assert.doesNotMatch('Language Lens', new RegExp(schema.properties.id?.pattern ?? '(none)'));
  });
});
