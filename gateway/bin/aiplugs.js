#!/usr/bin/env node
// The CLI entry point. The gateway is TypeScript run through tsx's loader, so there is no build
// step between editing a file and running it; startup pays a one-off transpile of each module.
// `start` with secrets in the environment runs the gateway as a child with a scrubbed one
// (src/cli/env-handoff.ts); main.ts is only loaded where it runs.
import { register } from 'tsx/esm/api';

register();
const { withScrubbedEnvironment } = await import('../src/cli/env-handoff.ts');
await withScrubbedEnvironment(process.argv, async () => (await import('../src/cli/main.ts')).main(process.argv));
