// Loaded with `node --import <this file>?dir=<copy>` (see unpatched-mockttp.ts): makes `import
// 'mockttp'` load that copy. The directory rides in the import URL, not in an environment
// variable, because `aiplugs start` hands every non-allowlisted variable over after Node started.
// Tests only; the gateway never sees this file otherwise.
import { register } from 'node:module';

register('./redirect-mockttp.hooks.mjs', import.meta.url, { data: new URL(import.meta.url).searchParams.get('dir') });
