// Loaded with `node --import` (see unpatched-mockttp.ts): makes `import 'mockttp'` load the copy in
// AIPLUGS_TEST_MOCKTTP_DIR. Tests only; the gateway never sees this file otherwise.
import { register } from 'node:module';

register('./redirect-mockttp.hooks.mjs', import.meta.url);
