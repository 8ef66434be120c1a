// `npm run schema`: regenerates schemas/manifest.schema.json from the zod manifest schema.
// Run it after changing gateway/src/plugins/manifest-schema.ts; a unit test fails until you do.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../package-paths.js';
import { MANIFEST_SCHEMA_PATH, manifestJsonSchemaText } from './manifest-json-schema.js';

const target = fileURLToPath(new URL(MANIFEST_SCHEMA_PATH, PACKAGE_ROOT));
await mkdir(dirname(target), { recursive: true });
await writeFile(target, manifestJsonSchemaText());
process.stdout.write(`Wrote ${MANIFEST_SCHEMA_PATH}\n`);
